//! Validation of a resolved configuration against the known settings.

use rustc_hash::FxHashSet;

// Findings were defined here before they moved to their own module; the old path keeps working.
pub use crate::finding::{Finding, Severity};
use crate::parse::ConfFile;
use crate::resolve::ResolvedConfig;
use crate::settings;
use crate::text::shorten;

/// Provider API keys: the backend stores them encrypted; conf files must not hold them.
const PROVIDERS: [(&str, &str); 4] =
    [("deepseek", "DeepSeek"), ("hf", "Hugging Face"), ("mistral", "Mistral"), ("openai", "OpenAI")];

/// The provider whose API key `name` holds, if it is one (any case).
pub fn provider_of_api_key(name: &str) -> Option<&'static str> {
    if name.eq_ignore_ascii_case("HF_TOKEN") || name.eq_ignore_ascii_case("HUGGING_FACE_HUB_TOKEN") {
        return Some("hf");
    }
    let (provider, suffix) = name.split_at_checked(name.len().checked_sub("_API_KEY".len())?)?;
    if !suffix.eq_ignore_ascii_case("_API_KEY") {
        return None;
    }
    PROVIDERS.iter().map(|(p, _)| *p).find(|p| provider.eq_ignore_ascii_case(p))
}

/// Checks `resolved`: value types, provider keys in conf files, unknown `user.conf` keys, and
/// combinations that cannot work. Returns the warnings of merge and resolution too, in file order.
pub fn check(resolved: &ResolvedConfig, defaults: &ConfFile, user: Option<&ConfFile>) -> Vec<Finding> {
    let mut findings = resolved.warnings.clone();
    for entry in &resolved.entries {
        let location = entry.origin.line_start();
        if let Some(provider) = provider_of_api_key(&entry.key) {
            if location.is_some() {
                findings.push(Finding::error(
                    location.clone(),
                    Some(&entry.key),
                    format!(
                        "API keys must not be stored in conf files: remove this line and upload the key to the \
                         running backend with `cargo xtask secret-set {provider}` (it is stored encrypted)"
                    ),
                ));
            }
            continue;
        }
        if let Some(setting) = settings::find(&entry.key)
            && let Some(problem) = settings::validate(setting, &entry.value)
        {
            let shown = if entry.secret { String::new() } else { format!(", got {:?}", shorten(&entry.value)) };
            findings.push(Finding::error(location, Some(&entry.key), format!("{problem}{shown}")));
        }
    }
    if let Some(user) = user {
        findings.extend(unknown_user_keys(defaults, user));
    }
    findings.extend(external_ray_needs_external_s3(resolved));
    findings.sort_by(|a, b| order(a).cmp(&order(b)));
    findings
}

fn order(finding: &Finding) -> (bool, Option<(&std::ffi::OsStr, usize)>) {
    (finding.location.is_none(), finding.location.as_ref().map(|l| (l.path.as_os_str(), l.line)))
}

fn unknown_user_keys(defaults: &ConfFile, user: &ConfFile) -> Vec<Finding> {
    let known: FxHashSet<&str> = defaults
        .entries
        .iter()
        .map(|e| e.key.as_str())
        .chain(settings::all().iter().map(|s| s.name.as_str()))
        .collect();
    let candidates: Vec<Candidate> = known.iter().map(|name| Candidate::new(name)).collect();
    let mut findings = Vec::new();
    for entry in
        user.entries.iter().filter(|e| !known.contains(e.key.as_str()) && provider_of_api_key(&e.key).is_none())
    {
        let message = match closest_name(&entry.key, &candidates) {
            Some(name) => format!("not a known setting; did you mean {name}?"),
            None => "not a known setting: no default has it and Lumigator does not read it".to_string(),
        };
        findings.push(Finding::warning(Some(entry.location.clone()), Some(&entry.key), message));
    }
    findings
}

/// The least similarity (normalised Damerau-Levenshtein) for a name to be suggested.
const SUGGESTION_THRESHOLD: f64 = 0.7;

/// A known name with its character counts, for a cheap lower bound on the edit distance.
struct Candidate<'a> {
    name: &'a str,
    counts: [u8; 40],
    /// Which characters occur at all: one bit per slot of `counts`.
    present: u64,
}

impl<'a> Candidate<'a> {
    fn new(name: &'a str) -> Self {
        let counts = char_counts(name);
        Candidate { name, counts, present: presence(&counts) }
    }
}

/// How many characters one side has more of than the other, summed over all characters.
fn bag_difference(a: &[u8; 40], b: &[u8; 40]) -> u32 {
    // Saturating subtractions both ways and a byte sum: a form the compiler turns into a few
    // vector instructions (this runs for every unknown key against every known name).
    let mut total = 0u32;
    for (x, y) in a.iter().zip(b) {
        total += u32::from(x.saturating_sub(*y) | y.saturating_sub(*x));
    }
    total
}

fn presence(counts: &[u8; 40]) -> u64 {
    counts.iter().enumerate().filter(|(_, n)| **n > 0).fold(0, |mask, (slot, _)| mask | 1 << slot)
}

fn char_counts(name: &str) -> [u8; 40] {
    let mut counts = [0u8; 40];
    for c in name.chars() {
        let slot = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as usize - 'A' as usize,
            c @ '0'..='9' => 26 + c as usize - '0' as usize,
            '_' => 36,
            _ => 37,
        };
        counts[slot] = counts[slot].saturating_add(1);
    }
    counts
}

/// The known name most like `key`, if any is like it enough. Most unknown keys are nothing like
/// any setting, so a bound that costs one pass (the multiset difference of their characters, which
/// no edit sequence can beat) rules them out before the quadratic distance is computed.
///
/// Linear in the key's length on any input: a similarity of at least [`SUGGESTION_THRESHOLD`] needs
/// lengths within that ratio (the distance is at least their difference), so a key much longer than
/// every known name is ruled out by its length alone, before it is even copied, and the quadratic
/// distance only ever compares names of a few dozen characters.
fn closest_name<'a>(key: &str, candidates: &[Candidate<'a>]) -> Option<&'a str> {
    let longest_known = candidates.iter().map(|c| c.name.len()).max()?;
    // Bytes: a character takes at most 4, so this bounds the characters too.
    let could_match = |chars: usize, known: usize| chars as f64 * SUGGESTION_THRESHOLD <= known as f64;
    if !could_match(key.len().div_ceil(4), longest_known) {
        return None;
    }
    let upper = key.to_ascii_uppercase();
    let counts = char_counts(&upper);
    let present = presence(&counts);
    let key_len = upper.chars().count();
    let similar_enough = |lower_bound: u32, candidate: &Candidate| {
        let longest = key_len.max(candidate.name.len()) as f64;
        1.0 - f64::from(lower_bound) / longest >= SUGGESTION_THRESHOLD
    };
    candidates
        .iter()
        .filter(|candidate| could_match(key_len, candidate.name.len()) && could_match(candidate.name.len(), key_len))
        .filter(|candidate| {
            // Then: every character only one side has needs an edit of its own.
            let only_here = (present & !candidate.present).count_ones();
            let only_there = (candidate.present & !present).count_ones();
            similar_enough(only_here.max(only_there), candidate)
        })
        .filter(|candidate| {
            // Each edit changes at most two counts by one, so half the count difference is a floor.
            similar_enough(bag_difference(&counts, &candidate.counts).div_ceil(2), candidate)
        })
        .map(|candidate| (strsim::normalized_damerau_levenshtein(&upper, candidate.name), candidate.name))
        .filter(|(score, _)| *score >= SUGGESTION_THRESHOLD)
        .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(a.1)))
        .map(|(_, name)| name)
}

fn external_ray_needs_external_s3(resolved: &ResolvedConfig) -> Option<Finding> {
    let ray = resolved.get("RAY_HEAD_NODE_HOST")?;
    let s3 = resolved.get("AWS_ENDPOINT_URL")?;
    if ray.value == "ray" || !points_at_local_minio(&s3.value) {
        return None;
    }
    let location = ray.origin.line_start();
    Some(Finding::warning(
        location,
        Some("RAY_HEAD_NODE_HOST"),
        format!(
            "points at an external Ray cluster, but AWS_ENDPOINT_URL ({}) is the local MinIO, which external \
             Ray workers cannot reach: set AWS_ENDPOINT_URL to S3 storage they can reach",
            shorten(&s3.value)
        ),
    ))
}

fn points_at_local_minio(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    // An IPv6 address holds colons of its own: it ends at its closing bracket.
    let host = match rest.find(']') {
        Some(end) if rest.starts_with('[') => &rest[..=end],
        _ => rest.split(['/', ':']).next().unwrap_or_default(),
    };
    matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "minio" | "host.docker.internal")
}
