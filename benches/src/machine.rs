//! One line describing the machine a run came from.

use tessera_core::Clock as _;

/// CPU model, cores, kernel, rustc version and date.
pub fn describe() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned());
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "rustc unknown".to_owned());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| crate::server::parse_mem_total(&text))
        .map(|bytes| format!("{:.0} GiB RAM", bytes as f64 / (1u64 << 30) as f64))
        .unwrap_or_else(|| "RAM unknown".to_owned());
    let date = tessera_core::token::rfc3339(tessera_core::SystemClock.now());
    format!("{cpu}, {cores} cores, {memory}, Linux {kernel}, {rustc}, {date}")
}
