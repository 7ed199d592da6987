//! Tests of `jobs.rs`.

use super::*;

fn lines(text: &str) -> Result<JobList> {
    JobList::from_bytes(
        Path::new("jobs.txt"),
        Format::Lines,
        text.as_bytes().to_vec(),
    )
}

#[test]
fn lines_skip_blank_and_comments_and_strip_one_cr() {
    let list = lines("a\r\n\n  \n# c\n  # d\nb \r\r\n\u{a0}\n\u{a0}#x\nc").unwrap();
    let jobs: Vec<_> = (0..list.len())
        .map(|i| list.job_bytes(i).into_owned())
        .collect();
    assert_eq!(jobs, vec![b"a".to_vec(), b"b \r".to_vec(), b"c".to_vec()]);
}

#[test]
fn non_utf8_names_the_line() {
    let e = JobList::from_bytes(Path::new("j.txt"), Format::Lines, b"a\nb\n\xff\n".to_vec())
        .unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::JobList);
    assert!(e.to_string().starts_with("j.txt:3: "), "{e}");
}

#[test]
fn a_nul_a_command_would_carry_is_refused_with_the_line() {
    let t = |s: &str| s.parse::<super::super::Template>().unwrap();
    let list = lines("a\n# comment \0 skipped\nb\0c\n").unwrap();
    let e = list.check_nul(None).unwrap_err().to_string();
    assert!(
        e.starts_with("jobs.txt:3: this job holds a NUL byte"),
        "{e}"
    );
    assert!(list.check_nul(Some(&t("run {}"))).is_err());
    // The line is not in the command.
    list.check_nul(Some(&t("run {#}"))).unwrap();
    let load =
        |format, text: &[u8]| JobList::from_bytes(Path::new("j"), format, text.to_vec()).unwrap();
    let csv = load(Format::Csv, b"a,b\nx,1\ny\0,2\n");
    let e = csv.check_nul(Some(&t("run {a}"))).unwrap_err().to_string();
    assert!(
        e.starts_with("j:3: the field `a`") && e.contains("NUL"),
        "{e}"
    );
    csv.check_nul(Some(&t("run {b}"))).unwrap();
    // `{}` of a record is canonical JSON: the NUL is written \u0000.
    csv.check_nul(Some(&t("run {}"))).unwrap();
    csv.check_nul(None).unwrap();
    let jsonl = load(
        Format::Jsonl,
        b"{\"a\": 1}\n{\"a\": \"\\u0000\", \"b\": [\"\\u0000\"]}\n",
    );
    let e = jsonl
        .check_nul(Some(&t("run {a}")))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("j:2: the field `a`"), "{e}");
    jsonl.check_nul(Some(&t("run {b} {}"))).unwrap();
}

#[test]
fn a_byte_order_mark_is_refused_with_the_fix() {
    let e = lines("\u{feff}echo 1\n").unwrap_err().to_string();
    assert!(
        e.starts_with("jobs.txt:1: the file starts with a byte order mark"),
        "{e}"
    );
    assert!(e.contains("sed -i '1s/^\\xEF\\xBB\\xBF//' jobs.txt"), "{e}");
    let e = JobList::from_bytes(Path::new("j"), Format::Jsonl, b"\xEF\xBB\xBF1\n".to_vec());
    assert!(e.unwrap_err().to_string().contains("byte order mark"));
    // CSV ignores the mark, as split-v1 says.
    let list =
        JobList::from_bytes(Path::new("j"), Format::Csv, b"\xEF\xBB\xBFa\n1\n".to_vec()).unwrap();
    assert_eq!(&*list.job_bytes(0), br#"{"a":"1"}"#);
}

#[test]
fn empty_list_is_an_error() {
    assert!(lines("# nothing\n\n").is_err());
}

#[test]
fn csv_records_become_canonical_json() {
    let list = JobList::from_bytes(
        Path::new("j.csv"),
        Format::Csv,
        b"b,a\n1,\"x,y\"\n2,z\n".to_vec(),
    )
    .unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(&*list.job_bytes(0), br#"{"a":"x,y","b":"1"}"#);
    assert_eq!(list.line_of(1), Some(3));
}

#[test]
fn csv_wrong_field_count_names_the_line() {
    let e = JobList::from_bytes(Path::new("j.csv"), Format::Csv, b"a,b\n1,2\n3\n".to_vec())
        .unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::JobList);
    assert!(
        e.to_string().starts_with("j.csv:3: this row has 1 fields"),
        "{e}"
    );
}

#[test]
fn jsonl_syntax_error_names_the_line() {
    let e = JobList::from_bytes(
        Path::new("j.jsonl"),
        Format::Jsonl,
        b"{\"a\": 1}\n\n{\"a\": }\n".to_vec(),
    )
    .unwrap_err();
    assert!(
        e.to_string().starts_with("j.jsonl:3: not valid JSON"),
        "{e}"
    );
}

#[test]
fn jsonl_values_are_canonical() {
    let list = JobList::from_bytes(
        Path::new("j.jsonl"),
        Format::Jsonl,
        b"{\"b\": 1, \"a\": [true]}\r\n7\n".to_vec(),
    )
    .unwrap();
    assert_eq!(&*list.job_bytes(0), br#"{"a":[true],"b":1}"#);
    assert_eq!(&*list.job_bytes(1), b"7");
}
