//! Hashing streams: memory stays flat whatever the file's size. Alone in
//! its own test binary, so that no other test's allocations move the
//! process's peak RSS.

#[cfg(target_os = "linux")]
#[test]
fn hashing_a_2_gib_file_keeps_memory_flat() {
    fn peak_rss_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.whl");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(2 << 30).unwrap(); // sparse: no disk used
    drop(file);
    let before = peak_rss_kib();
    let (hash, size) = gate_wheels::sha256_file(&path, &|| false).unwrap();
    let grown = peak_rss_kib() - before;
    assert_eq!(size, 2 << 30);
    // `head -c 2147483648 /dev/zero | sha256sum`
    assert_eq!(hash, "a7c744c13cc101ed66c29f672f92455547889cc586ce6d44fe76ae824958ea51");
    assert!(grown < 16 * 1024, "peak RSS grew by {grown} KiB while hashing 2 GiB");
}
