"""A Monte Carlo study split across machines: estimate pi at several sample sizes, 20
replications each, every replication with its own reproducible generator.

    python monte_carlo.py plan
    python monte_carlo.py run --machine ws1     # on ws1; --machine ws2 on ws2
    python monte_carlo.py merge
    python -c "import jobsplit; print(jobsplit.load('merged'))"
"""

import jobsplit


def estimate(point):
    rng = jobsplit.rng()  # seeded from the job's seed: the same numbers on any host
    n = point["n"]
    inside = sum(1 for _ in range(n) if rng.random() ** 2 + rng.random() ** 2 < 1.0)
    return {"n": n, "pi": 4.0 * inside / n}


points = [{"n": n, "rep": rep} for n in (100, 1000, 5000) for rep in range(20)]
study = jobsplit.Study(points, estimate, seed="pi-2026",
                       machines={"ws1": {"weight": 1, "cores": 2}, "ws2": {"weight": 2, "cores": 1}})

if __name__ == "__main__":
    study.main()
