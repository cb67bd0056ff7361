//! Exit policies: the handful of real-world policy shapes (reject-all, tor's default,
//! ReducedExitPolicy, web-only, IRC-only, and the exit actor's "unusual" list), their
//! descriptor lines and the consensus `p` summary computed from them.

/// A policy shape. `Unusual` is shared by every relay of the exit actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    RejectAll,
    Default,
    Reduced,
    Web,
    Irc,
    Unusual,
}

const DEFAULT_REJECTS: &[&str] = &[
    "25",
    "119",
    "135-139",
    "445",
    "563",
    "1214",
    "4661-4666",
    "6346-6429",
    "6699",
    "6881-6999",
];

const REDUCED_ACCEPTS: &[&str] = &[
    "20-21",
    "22",
    "23",
    "43",
    "53",
    "79",
    "80-81",
    "88",
    "110",
    "143",
    "194",
    "220",
    "389",
    "443",
    "464",
    "465",
    "531",
    "543-544",
    "554",
    "563",
    "587",
    "636",
    "706",
    "749",
    "853",
    "873",
    "902-904",
    "981",
    "989-990",
    "991",
    "992",
    "993",
    "994",
    "995",
    "1194",
    "1220",
    "1293",
    "1500",
    "1533",
    "1677",
    "1723",
    "1755",
    "1863",
    "2082",
    "2083",
    "2086-2087",
    "2095-2096",
    "2102-2104",
    "3128",
    "3389",
    "3690",
    "4321",
    "4643",
    "5050",
    "5190",
    "5222-5223",
    "5228",
    "5900",
    "6660-6669",
    "6679",
    "6697",
    "8000",
    "8008",
    "8074",
    "8080",
    "8082",
    "8087-8088",
    "8232-8233",
    "8332-8333",
    "8443",
    "8888",
    "9418",
    "9999",
    "10000",
    "11371",
    "19294",
    "19638",
    "50002",
    "64738",
];

const UNUSUAL_ACCEPTS: &[&str] = &[
    "53",
    "80",
    "443",
    "2083",
    "8080",
    "8332-8333",
    "18080-18081",
    "30303",
];

const PRIVATE: &[&str] = &[
    "0.0.0.0/8",
    "169.254.0.0/16",
    "127.0.0.0/8",
    "192.168.0.0/16",
    "10.0.0.0/8",
    "172.16.0.0/12",
];

impl Policy {
    pub fn parse(s: &str) -> anyhow::Result<Policy> {
        Ok(match s {
            "reject-all" => Policy::RejectAll,
            "default" => Policy::Default,
            "reduced" => Policy::Reduced,
            "web" => Policy::Web,
            "irc" => Policy::Irc,
            "unusual" => Policy::Unusual,
            _ => anyhow::bail!("unknown exit policy {s:?}"),
        })
    }

    /// (accept?, port ranges) rules on `*`, in order, ending with a catch-all.
    fn rules(self) -> Vec<(bool, &'static str)> {
        let accepts = |ports: &[&'static str]| {
            let mut v: Vec<(bool, &'static str)> = ports.iter().map(|p| (true, *p)).collect();
            v.push((false, "*"));
            v
        };
        match self {
            Policy::RejectAll => vec![(false, "*")],
            Policy::Default => {
                let mut v: Vec<(bool, &'static str)> =
                    DEFAULT_REJECTS.iter().map(|p| (false, *p)).collect();
                v.push((true, "*"));
                v
            }
            Policy::Reduced => accepts(REDUCED_ACCEPTS),
            Policy::Web => accepts(&["80", "443"]),
            Policy::Irc => accepts(&["6660-6669", "6697"]),
            Policy::Unusual => accepts(UNUSUAL_ACCEPTS),
        }
    }

    /// The descriptor's policy lines (with tor's ExitPolicyRejectPrivate block for exits).
    pub fn lines(self, own_ipv4: &str) -> String {
        let mut out = String::new();
        if self != Policy::RejectAll {
            for p in PRIVATE {
                out.push_str("reject ");
                out.push_str(p);
                out.push_str(":*\n");
            }
            out.push_str("reject ");
            out.push_str(own_ipv4);
            out.push_str(":*\n");
        }
        for (accept, ports) in self.rules() {
            out.push_str(if accept { "accept *:" } else { "reject *:" });
            out.push_str(ports);
            out.push('\n');
        }
        out
    }

    fn accepted(self) -> Vec<bool> {
        let mut decided = vec![false; 65536];
        let mut accept = vec![false; 65536];
        for (acc, ports) in self.rules() {
            let (lo, hi) = if ports == "*" {
                (1, 65535)
            } else if let Some((a, b)) = ports.split_once('-') {
                (a.parse().unwrap(), b.parse().unwrap())
            } else {
                let p: usize = ports.parse().unwrap();
                (p, p)
            };
            for p in lo..=hi {
                if !decided[p] {
                    decided[p] = true;
                    accept[p] = acc;
                }
            }
        }
        accept
    }

    /// The consensus `p` line content, e.g. `accept 80,443` or `reject 1-65535` (cached).
    pub fn summary(self) -> &'static str {
        &cached()[self as usize].0
    }

    /// Whether the authorities would give the Exit flag (exits to ports 80 and 443; cached).
    pub fn exit_flag(self) -> bool {
        cached()[self as usize].1
    }

    fn compute_summary(self) -> String {
        let acc = self.accepted();
        let list = |want: bool| {
            let mut parts = Vec::new();
            let mut p = 1;
            while p <= 65535 {
                if acc[p] == want {
                    let start = p;
                    while p < 65535 && acc[p + 1] == want {
                        p += 1;
                    }
                    parts.push(if start == p {
                        start.to_string()
                    } else {
                        format!("{start}-{p}")
                    });
                }
                p += 1;
            }
            parts.join(",")
        };
        let a = list(true);
        let r = list(false);
        if a.is_empty() {
            "reject 1-65535".to_string()
        } else if a.len() <= r.len() {
            format!("accept {a}")
        } else {
            format!("reject {r}")
        }
    }

    /// Whether the relay allows any exit at all (and so shows up in exit lists).
    pub fn allows_exit(self) -> bool {
        self != Policy::RejectAll
    }
}

const ALL: [Policy; 6] = [
    Policy::RejectAll,
    Policy::Default,
    Policy::Reduced,
    Policy::Web,
    Policy::Irc,
    Policy::Unusual,
];

/// (summary, exit flag) per policy, indexed by discriminant.
fn cached() -> &'static Vec<(String, bool)> {
    static CACHE: std::sync::OnceLock<Vec<(String, bool)>> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| {
        ALL.iter()
            .map(|p| {
                let a = p.accepted();
                (p.compute_summary(), a[80] && a[443])
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_match_real_shapes() {
        assert_eq!(Policy::RejectAll.summary(), "reject 1-65535");
        assert_eq!(
            Policy::Default.summary(),
            "reject 25,119,135-139,445,563,1214,4661-4666,6346-6429,6699,6881-6999"
        );
        assert_eq!(Policy::Web.summary(), "accept 80,443");
        assert!(Policy::Reduced
            .summary()
            .starts_with("accept 20-23,43,53,79-81,88,110,143,194,220,389,443,464-465,"));
        assert!(
            Policy::Reduced.exit_flag()
                && !Policy::Irc.exit_flag()
                && !Policy::RejectAll.exit_flag()
        );
        assert!(Policy::RejectAll.lines("1.2.3.4") == "reject *:*\n");
    }
}
