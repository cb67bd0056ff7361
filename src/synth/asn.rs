//! The autonomous-system catalogue of the synthetic network (hosting, residential and
//! university ASes with IPv4 prefixes), address allocation from it, and the
//! `asn/ip2asn-v4.tsv` table (iptoasn.com format) that the enrichment step reads.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use super::rng::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsKind {
    Hosting,
    Residential,
    University,
}

/// One AS of the catalogue.
#[derive(Debug)]
pub struct AsInfo {
    pub asn: u32,
    pub cc: &'static str,
    pub name: &'static str,
    pub kind: AsKind,
    /// Relative popularity among background relays.
    pub weight: f64,
    pub prefixes: &'static [&'static str],
}

use AsKind::{Hosting as H, Residential as R, University as U};

macro_rules! as_table {
    ($( ($asn:expr, $cc:expr, $name:expr, $kind:expr, $w:expr, [$($p:expr),* $(,)?]) ),* $(,)?) => {
        &[ $( AsInfo { asn: $asn, cc: $cc, name: $name, kind: $kind, weight: $w, prefixes: &[$($p),*] } ),* ]
    };
}

/// The catalogue. Names and numbers are those of real operators popular with Tor relays; the
/// prefixes are plausible blocks of each, non-overlapping (checked by a unit test).
pub static CATALOGUE: &[AsInfo] = as_table![
    (
        24940,
        "DE",
        "HETZNER-AS",
        H,
        11.0,
        [
            "5.9.0.0/16",
            "78.46.0.0/15",
            "88.198.0.0/16",
            "95.216.0.0/15",
            "116.202.0.0/15",
            "136.243.0.0/16",
            "144.76.0.0/16",
            "148.251.0.0/16",
            "176.9.0.0/16",
            "178.63.0.0/16",
            "188.40.0.0/16",
            "213.239.192.0/18"
        ]
    ),
    (
        16276,
        "FR",
        "OVH",
        H,
        10.0,
        [
            "5.135.0.0/16",
            "37.59.0.0/16",
            "37.187.0.0/16",
            "46.105.0.0/16",
            "51.38.0.0/16",
            "51.68.0.0/16",
            "51.75.0.0/16",
            "51.77.0.0/16",
            "51.83.0.0/16",
            "51.89.0.0/16",
            "54.36.0.0/15",
            "54.38.0.0/16",
            "91.121.0.0/16",
            "92.222.0.0/16",
            "137.74.0.0/16",
            "141.94.0.0/16",
            "145.239.0.0/16",
            "147.135.0.0/16",
            "149.202.0.0/16",
            "151.80.0.0/16",
            "164.132.0.0/16",
            "176.31.0.0/16",
            "178.32.0.0/15",
            "188.165.0.0/16",
            "193.70.0.0/17",
            "217.182.0.0/16"
        ]
    ),
    (
        12876,
        "FR",
        "Online S.a.s.",
        H,
        3.5,
        [
            "51.15.0.0/16",
            "51.158.0.0/15",
            "62.210.0.0/16",
            "163.172.0.0/16",
            "195.154.0.0/16",
            "212.47.224.0/19",
            "212.83.128.0/18"
        ]
    ),
    (
        14061,
        "US",
        "DIGITALOCEAN-ASN",
        H,
        4.5,
        [
            "104.131.0.0/16",
            "104.236.0.0/16",
            "138.68.0.0/16",
            "138.197.0.0/16",
            "139.59.0.0/16",
            "142.93.0.0/16",
            "157.230.0.0/16",
            "159.65.0.0/16",
            "159.89.0.0/16",
            "161.35.0.0/16",
            "164.90.0.0/16",
            "165.22.0.0/16",
            "167.71.0.0/16",
            "167.99.0.0/16",
            "178.62.0.0/16",
            "188.166.0.0/16",
            "206.189.0.0/16"
        ]
    ),
    (
        63949,
        "US",
        "LINODE-AP Linode, LLC",
        H,
        3.0,
        [
            "45.33.0.0/17",
            "45.56.64.0/18",
            "45.79.0.0/16",
            "50.116.0.0/18",
            "139.162.0.0/16",
            "172.104.0.0/15",
            "173.255.192.0/18",
            "198.58.96.0/19"
        ]
    ),
    (
        51167,
        "DE",
        "CONTABO",
        H,
        4.0,
        [
            "5.189.128.0/17",
            "62.171.128.0/17",
            "75.119.128.0/17",
            "144.91.64.0/18",
            "161.97.64.0/18",
            "167.86.64.0/18",
            "173.212.192.0/18",
            "173.249.0.0/18",
            "207.180.192.0/18",
            "213.136.64.0/18"
        ]
    ),
    (
        20473,
        "US",
        "AS-CHOOPA",
        H,
        3.0,
        [
            "45.32.0.0/16",
            "45.63.0.0/17",
            "45.76.0.0/15",
            "66.42.32.0/19",
            "95.179.128.0/17",
            "108.61.0.0/16",
            "136.244.64.0/18",
            "140.82.0.0/17",
            "144.202.0.0/17",
            "149.28.0.0/16",
            "155.138.128.0/17",
            "207.148.0.0/18",
            "209.250.224.0/19"
        ]
    ),
    (
        197540,
        "DE",
        "NETCUP-AS netcup GmbH",
        H,
        3.0,
        [
            "37.120.160.0/19",
            "46.38.224.0/19",
            "89.58.0.0/18",
            "188.68.32.0/19",
            "202.61.192.0/19",
            "152.89.104.0/22"
        ]
    ),
    (
        60781,
        "NL",
        "LEASEWEB-NL-AMS-01 Netherlands",
        H,
        1.8,
        [
            "5.79.64.0/18",
            "37.48.64.0/18",
            "85.17.0.0/16",
            "95.211.0.0/16",
            "178.162.128.0/18",
            "212.32.224.0/19"
        ]
    ),
    (
        9009,
        "GB",
        "M247",
        H,
        1.5,
        [
            "37.120.128.0/19",
            "89.238.128.0/18",
            "146.70.0.0/16",
            "185.156.172.0/22",
            "217.138.192.0/19"
        ]
    ),
    (
        53667,
        "US",
        "PONYNET",
        H,
        1.6,
        [
            "104.244.72.0/21",
            "198.98.48.0/20",
            "199.195.248.0/21",
            "205.185.112.0/20",
            "209.141.32.0/19"
        ]
    ),
    (
        8560,
        "DE",
        "IONOS-AS",
        H,
        1.4,
        [
            "74.208.0.0/16",
            "82.165.0.0/16",
            "212.227.0.0/16",
            "217.160.0.0/16"
        ]
    ),
    (
        36352,
        "US",
        "AS-COLOCROSSING",
        H,
        1.0,
        [
            "23.94.0.0/15",
            "107.172.0.0/14",
            "192.3.0.0/16",
            "198.23.128.0/17"
        ]
    ),
    (
        16509,
        "US",
        "AMAZON-02",
        H,
        1.2,
        [
            "3.120.0.0/14",
            "18.184.0.0/15",
            "34.192.0.0/12",
            "52.0.0.0/11",
            "54.64.0.0/11"
        ]
    ),
    (
        396982,
        "US",
        "GOOGLE-CLOUD-PLATFORM",
        H,
        0.6,
        ["34.64.0.0/11", "35.184.0.0/13"]
    ),
    (
        8075,
        "US",
        "MICROSOFT-CORP-MSN-AS-BLOCK",
        H,
        0.6,
        ["13.64.0.0/11", "20.32.0.0/11", "40.64.0.0/10"]
    ),
    (
        31898,
        "US",
        "ORACLE-BMC-31898",
        H,
        0.8,
        [
            "129.146.0.0/16",
            "130.61.0.0/16",
            "132.145.0.0/16",
            "140.238.0.0/16",
            "150.136.0.0/16",
            "152.67.0.0/16",
            "158.101.0.0/16"
        ]
    ),
    (
        49981,
        "NL",
        "WORLDSTREAM",
        H,
        0.8,
        [
            "89.38.96.0/19",
            "93.190.136.0/21",
            "185.132.176.0/22",
            "217.23.0.0/20"
        ]
    ),
    (
        47583,
        "LT",
        "AS-HOSTINGER",
        H,
        0.7,
        [
            "31.170.160.0/19",
            "45.84.204.0/22",
            "145.14.144.0/20",
            "185.224.136.0/22"
        ]
    ),
    (
        42708,
        "SE",
        "PORTLANE Portlane Networks AB",
        H,
        0.5,
        ["80.67.0.0/20", "91.223.26.0/24", "185.195.236.0/22"]
    ),
    (
        29802,
        "US",
        "HVC-AS",
        H,
        0.5,
        ["69.197.128.0/18", "173.208.128.0/17", "204.12.192.0/18"]
    ),
    (
        43350,
        "NL",
        "NFORCE",
        H,
        0.8,
        ["46.166.128.0/18", "109.201.128.0/19", "185.107.44.0/22"]
    ),
    (4224, "US", "CALYX-AS", H, 0.4, ["162.247.72.0/22"]),
    (396507, "US", "EMERALD-ONION", H, 0.4, ["23.129.64.0/24"]),
    (205100, "DE", "F3NETZE", H, 0.6, ["185.220.100.0/22"]),
    (
        208323,
        "AT",
        "APPLIEDPRIVACY-AS",
        H,
        0.3,
        ["109.70.100.0/24"]
    ),
    (
        62744,
        "US",
        "QUINTEX",
        H,
        0.4,
        ["199.249.223.0/24", "199.249.230.0/24"]
    ),
    (
        60729,
        "DE",
        "TORSERVERS-NET",
        H,
        0.4,
        ["176.10.96.0/19", "77.247.176.0/21"]
    ),
    (
        9370,
        "JP",
        "SAKURA-B SAKURA Internet Inc.",
        H,
        0.5,
        ["153.120.0.0/15", "160.16.0.0/16", "133.242.0.0/16"]
    ),
    (
        3320,
        "DE",
        "DTAG Internet service provider operations",
        R,
        3.5,
        [
            "79.192.0.0/10",
            "84.128.0.0/10",
            "87.128.0.0/10",
            "91.0.0.0/10",
            "93.192.0.0/10"
        ]
    ),
    (
        3209,
        "DE",
        "VODANET International IP-Backbone of Vodafone",
        R,
        1.5,
        ["2.200.0.0/13", "88.64.0.0/12", "92.72.0.0/13"]
    ),
    (
        6805,
        "DE",
        "TDDE-ASN1",
        R,
        0.8,
        ["77.176.0.0/12", "89.12.0.0/14"]
    ),
    (
        7922,
        "US",
        "COMCAST-7922",
        R,
        2.0,
        [
            "24.0.0.0/12",
            "67.160.0.0/11",
            "73.0.0.0/8",
            "98.192.0.0/10"
        ]
    ),
    (
        701,
        "US",
        "UUNET",
        R,
        0.8,
        ["71.160.0.0/11", "96.224.0.0/11", "108.0.0.0/11"]
    ),
    (
        3215,
        "FR",
        "France Telecom - Orange",
        R,
        1.2,
        ["2.0.0.0/12", "81.48.0.0/12", "86.192.0.0/11", "90.0.0.0/9"]
    ),
    (
        12322,
        "FR",
        "PROXAD Free SAS",
        R,
        1.2,
        ["78.192.0.0/10", "82.224.0.0/11", "88.160.0.0/11"]
    ),
    (
        1136,
        "NL",
        "KPN KPN National",
        R,
        0.8,
        ["77.160.0.0/12", "145.128.0.0/11"]
    ),
    (
        33915,
        "NL",
        "TNF-AS Ziggo",
        R,
        0.8,
        ["84.24.0.0/13", "212.238.0.0/16"]
    ),
    (
        2856,
        "GB",
        "BT-UK-AS BTnet UK Regional network",
        R,
        0.8,
        ["81.128.0.0/11", "86.128.0.0/10"]
    ),
    (
        5089,
        "GB",
        "NTL Virgin Media",
        R,
        0.6,
        ["81.96.0.0/12", "82.0.0.0/13", "86.0.0.0/13"]
    ),
    (
        6830,
        "AT",
        "LGI-UPC formerly known as UPC Broadband",
        R,
        0.6,
        ["80.108.0.0/14", "84.112.0.0/12"]
    ),
    (
        12389,
        "RU",
        "ROSTELECOM-AS",
        R,
        0.7,
        ["95.24.0.0/13", "176.96.0.0/12"]
    ),
    (
        4766,
        "KR",
        "KIXS-AS-KR Korea Telecom",
        R,
        0.3,
        ["175.192.0.0/10", "121.128.0.0/10"]
    ),
    (
        3303,
        "CH",
        "SWISSCOM Swisscom (Schweiz) AG",
        R,
        0.5,
        ["178.192.0.0/13", "85.0.0.0/13"]
    ),
    (
        680,
        "DE",
        "DFN Verein zur Foerderung eines Deutschen Forschungsnetzes e.V.",
        U,
        0.6,
        [
            "129.13.0.0/16",
            "130.83.0.0/16",
            "131.188.0.0/16",
            "141.76.0.0/16"
        ]
    ),
    (3, "US", "MIT-GATEWAYS", U, 0.2, ["128.31.0.0/16"]),
    (
        1103,
        "NL",
        "SURFNET-NL SURFnet, The Netherlands",
        U,
        0.3,
        ["145.100.0.0/15", "192.87.0.0/16"]
    ),
];

/// A parsed IPv4 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    pub base: u32,
    pub len: u8,
}

impl Prefix {
    pub fn parse(s: &str) -> Prefix {
        let (a, l) = s.split_once('/').expect("prefix needs /len");
        let base = parse_ipv4(a);
        let len: u8 = l.parse().expect("prefix length");
        Prefix { base, len }
    }
    pub fn size(self) -> u64 {
        1u64 << (32 - self.len)
    }
    pub fn last(self) -> u32 {
        (self.base as u64 + self.size() - 1) as u32
    }
}

pub fn parse_ipv4(s: &str) -> u32 {
    let mut v = 0u32;
    for p in s.split('.') {
        v = (v << 8) | p.parse::<u32>().expect("IPv4 octet");
    }
    v
}

pub fn fmt_ipv4(a: u32) -> String {
    format!(
        "{}.{}.{}.{}",
        a >> 24,
        (a >> 16) & 255,
        (a >> 8) & 255,
        a & 255
    )
}

pub fn by_asn(asn: u32) -> Option<&'static AsInfo> {
    CATALOGUE.iter().find(|a| a.asn == asn)
}

/// Hands out unique IPv4 addresses (and IPv6 addresses) from the catalogue.
#[derive(Debug, Default)]
pub struct Allocator {
    used: HashSet<u32>,
    /// Addresses handed out per AS.
    per_as: HashMap<u32, usize>,
}

impl Allocator {
    /// Whether most of an AS's usable addresses are taken (random draws in it would start to
    /// fail): over years of churn a small AS fills up, and new relays should go elsewhere.
    pub fn is_nearly_full(&self, asn: u32) -> bool {
        let usable: u64 = by_asn(asn)
            .map(|info| {
                info.prefixes
                    .iter()
                    .map(|p| (Prefix::parse(p).size() * 254 / 256).max(1))
                    .sum()
            })
            .unwrap_or(0);
        self.per_as.get(&asn).copied().unwrap_or(0) as u64 * 10 >= usable * 8
    }

    /// A fresh address in `asn`. With `avoid16`, /16 networks in that set are avoided when
    /// possible (and the chosen /16 is added), which spreads an actor over many /16s.
    pub fn ipv4(&mut self, rng: &mut Rng, asn: u32, avoid16: Option<&mut HashSet<u32>>) -> u32 {
        let info = by_asn(asn).expect("AS in catalogue");
        let prefixes: Vec<Prefix> = info.prefixes.iter().map(|p| Prefix::parse(p)).collect();
        let weights: Vec<f64> = prefixes.iter().map(|p| (p.size() as f64).sqrt()).collect();
        let mut avoid16 = avoid16;
        for attempt in 0..400 {
            let p = prefixes[rng.weighted(&weights)];
            let host = rng.below(p.size()) as u32;
            let addr = p.base.wrapping_add(host);
            let last = addr & 255;
            if last == 0 || last == 255 || self.used.contains(&addr) {
                continue;
            }
            if let Some(set) = avoid16.as_deref_mut() {
                if attempt < 300 && set.contains(&(addr >> 16)) {
                    continue;
                }
                set.insert(addr >> 16);
            }
            return self.take(asn, addr);
        }
        // Random draws keep hitting used addresses (a small AS over a long span): walk its
        // prefixes, largest first, for a free one.
        let mut by_size = prefixes.clone();
        by_size.sort_by_key(|p| std::cmp::Reverse(p.size()));
        let free = by_size.iter().find_map(|p| {
            (1..p.size() as u32 - 1)
                .map(|h| p.base.wrapping_add(h))
                .find(|a| !matches!(a & 255, 0 | 255) && !self.used.contains(a))
        });
        let addr = free.unwrap_or_else(|| {
            panic!(
                "AS{asn} ({}) has no free address left for another relay: the scenario asks \
                 for more relays on it than its {} prefixes hold",
                info.name,
                info.prefixes.len()
            )
        });
        self.take(asn, addr)
    }

    /// Marks `addr` of `asn` as handed out.
    fn take(&mut self, asn: u32, addr: u32) -> u32 {
        self.used.insert(addr);
        *self.per_as.entry(asn).or_default() += 1;
        addr
    }

    /// A neighbour of `addr` in the same /24 (for exit addresses of multi-homed exits).
    pub fn neighbour(&mut self, rng: &mut Rng, addr: u32) -> u32 {
        for _ in 0..50 {
            let a = (addr & 0xFFFF_FF00) | (rng.range(2, 253) as u32);
            if !self.used.contains(&a) {
                self.used.insert(a);
                return a;
            }
        }
        addr
    }
}

/// An IPv6 address in the AS's (synthetic) /32.
pub fn ipv6_for(asn: u32, v4: u32) -> String {
    format!(
        "2a0{}:{:x}:{:x}:{:x}::1",
        (asn % 9) + 1,
        (asn >> 4) & 0xffff | 0x1000,
        v4 >> 16,
        v4 & 0xffff
    )
}

/// The `ip2asn-v4.tsv` text: `range_start \t range_end \t AS_number \t country_code \t
/// AS_description`, sorted, non-overlapping, one line per catalogue prefix.
pub fn ip2asn_tsv() -> String {
    let mut rows: Vec<(Prefix, &AsInfo)> = CATALOGUE
        .iter()
        .flat_map(|a| a.prefixes.iter().map(move |p| (Prefix::parse(p), a)))
        .collect();
    rows.sort_by_key(|(p, _)| p.base);
    let mut out = String::new();
    for (p, a) in rows {
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}",
            fmt_ipv4(p.base),
            fmt_ipv4(p.last()),
            a.asn,
            a.cc,
            a.name
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-/24 AS (EMERALD-ONION) filled address by address: it reports itself nearly full
    /// at 80 % of its 254 usable addresses, hands out every one of them, each once, and none
    /// outside its prefix.
    #[test]
    fn a_small_as_fills_up_and_says_so() {
        let mut rng = Rng::new(7);
        let mut alloc = Allocator::default();
        let prefix = Prefix::parse("23.129.64.0/24");
        let mut seen = HashSet::new();
        for k in 0..254 {
            assert_eq!(alloc.is_nearly_full(396507), k * 10 >= 254 * 8, "{k}");
            let a = alloc.ipv4(&mut rng, 396507, None);
            assert!(a > prefix.base && a < prefix.last(), "{}", fmt_ipv4(a));
            assert!(seen.insert(a), "{} handed out twice", fmt_ipv4(a));
        }
        assert!(alloc.is_nearly_full(396507));
    }

    #[test]
    fn catalogue_prefixes_are_aligned_and_disjoint() {
        let mut all: Vec<(Prefix, u32)> = Vec::new();
        for a in CATALOGUE {
            for p in a.prefixes {
                let pf = Prefix::parse(p);
                assert_eq!(pf.base as u64 % pf.size(), 0, "{p} not aligned");
                all.push((pf, a.asn));
            }
        }
        all.sort_by_key(|(p, _)| p.base);
        for w in all.windows(2) {
            assert!(
                w[0].0.last() < w[1].0.base,
                "{:?} overlaps {:?}",
                w[0],
                w[1]
            );
        }
        let asns: HashSet<u32> = CATALOGUE.iter().map(|a| a.asn).collect();
        assert_eq!(asns.len(), CATALOGUE.len());
    }

    #[test]
    fn allocation_stays_inside_the_as() {
        let mut al = Allocator::default();
        let mut rng = Rng::new(3);
        let mut seen16 = HashSet::new();
        for _ in 0..50 {
            let a = al.ipv4(&mut rng, 16276, Some(&mut seen16));
            let inside = by_asn(16276)
                .unwrap()
                .prefixes
                .iter()
                .map(|p| Prefix::parse(p))
                .any(|p| a >= p.base && a <= p.last());
            assert!(inside);
        }
        assert!(seen16.len() >= 25, "spread over /16s: {}", seen16.len());
    }
}
