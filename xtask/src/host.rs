//! Values derived from the host, not from configuration: the Ray image's architecture suffix and
//! compute type. The old Makefile computed them in make and exported them to Compose; we write them
//! into build/.env so running Compose by hand with that file gives the same stack.

/// `ARCH`, `RAY_ARCH_SUFFIX` and `COMPUTE_TYPE` for this machine and GPU choice.
pub fn derived_variables(gpus: bool) -> [(&'static str, String); 3] {
    derive(std::env::consts::OS, std::env::consts::ARCH, gpus)
}

fn derive(os: &str, arch: &str, gpus: bool) -> [(&'static str, String); 3] {
    // `uname -m` spelling, as the Makefile used it, with x86_64 renamed amd64.
    let arch_name = match (os, arch) {
        (_, "x86_64") => "amd64",
        ("macos", "aarch64") => "arm64",
        (_, other) => other,
    };
    // Ray publishes -aarch64 images; the Makefile only matched macOS's `arm64`, so Linux on ARM
    // pulled the x86 image.
    let suffix = if arch == "aarch64" { "-aarch64" } else { "" };
    let compute = if gpus { "-gpu" } else { "-cpu" };
    [("ARCH", arch_name.to_string()), ("RAY_ARCH_SUFFIX", suffix.to_string()), ("COMPUTE_TYPE", compute.to_string())]
}

/// Whether a `RAY_WORKER_GPUS` value asks for GPUs: a number of 1 or more (`1`, `1.0`, `2`).
pub fn wants_gpus(value: &str) -> bool {
    value.trim().parse::<f64>().is_ok_and(|n| n >= 1.0)
}

/// The setting `--gpus` overrides.
pub const GPUS_SETTING: &str = "RAY_WORKER_GPUS";

/// A number of GPUs as `--gpus` gives it: any value `RAY_WORKER_GPUS` accepts in a conf file
/// (`1`, `1.0`, `0.5`), kept as written so that build/.env holds what was typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuCount(String);

impl GpuCount {
    /// Checks `text` with the same rule as the configuration's `RAY_WORKER_GPUS`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let rule = lumigator_conf::settings::find(GPUS_SETTING);
        match rule.and_then(|setting| lumigator_conf::settings::validate(setting, text)) {
            Some(why) => Err(format!("{why}, as for {GPUS_SETTING} (such as 1, 1.0 or 0.5)")),
            None if text.trim().parse::<f64>().is_err() => Err(format!("expected a number, as for {GPUS_SETTING}")),
            None => Ok(GpuCount(text.to_string())),
        }
    }

    /// The value as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it turns on the GPU stack (1 or more).
    pub fn wants_gpus(&self) -> bool {
        wants_gpus(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_linux_gets_the_aarch64_image() {
        let linux_arm = derive("linux", "aarch64", false);
        assert_eq!(linux_arm[1].1, "-aarch64");
        assert_eq!(linux_arm[0].1, "aarch64");
        let mac = derive("macos", "aarch64", true);
        assert_eq!((mac[0].1.as_str(), mac[1].1.as_str(), mac[2].1.as_str()), ("arm64", "-aarch64", "-gpu"));
        let intel = derive("linux", "x86_64", false);
        assert_eq!((intel[0].1.as_str(), intel[1].1.as_str(), intel[2].1.as_str()), ("amd64", "", "-cpu"));
    }

    #[test]
    fn gpu_counts() {
        assert!(wants_gpus("1") && wants_gpus("1.0") && wants_gpus("4"));
        assert!(!wants_gpus("0") && !wants_gpus("0.5") && !wants_gpus("") && !wants_gpus("x"));
    }

    #[test]
    fn the_flag_takes_what_the_configuration_takes() {
        for (text, gpus) in [("1", true), ("1.0", true), ("2", true), ("0.5", false), ("0", false)] {
            let count = GpuCount::parse(text).unwrap_or_else(|err| panic!("{text}: {err}"));
            assert_eq!((count.as_str(), count.wants_gpus()), (text, gpus));
        }
        for text in ["-1", "abc", "", "inf", "NaN"] {
            assert!(GpuCount::parse(text).is_err(), "{text} is refused");
        }
    }
}
