//! Nicknames and ContactInfo strings: the word lists and formats that make the synthetic
//! relays look like the real operator population (default names, numbered families,
//! obfuscated e-mails, PGP ids, ContactInfo-spec v2 lines).

use super::rng::Rng;

const WORDS: &[&str] = &[
    "tor", "relay", "onion", "node", "privacy", "freedom", "anon", "secure", "free", "net",
    "zwiebel", "bigbox", "nifty", "pika", "dragon", "tiger", "wolf", "fox", "raven", "owl", "cat",
    "panda", "blue", "red", "green", "black", "silver", "dark", "light", "sky", "moon", "sun",
    "star", "nova", "atlas", "hermes", "zeus", "apollo", "orion", "vega", "lyra", "sirius",
    "nebula", "quantum", "cipher", "crypto", "shadow", "ghost", "spark", "pixel", "byte", "bit",
    "data", "home", "berlin", "paris", "vienna", "zurich", "oslo", "kiwi", "maple", "cedar",
    "pine", "river", "stone", "iron", "steel", "rocket", "turtle", "otter", "badger", "lynx",
    "falcon", "hydra", "phoenix", "unicorn", "wizard", "ninja", "pirate", "viking", "monk", "sage",
    "tux", "debian", "arch", "gentoo", "bsd", "linux", "pi", "rasp", "mesh", "lab", "uni",
];

const FIRST: &[&str] = &[
    "Alex", "Sam", "Chris", "Jan", "Max", "Robin", "Kim", "Lukas", "Anna", "Marie", "Paul",
    "Felix", "Jonas", "Laura", "Tom", "Nina", "David", "Sara", "Ben", "Eva", "Peter", "Mark",
];
const LAST: &[&str] = &[
    "Mueller", "Schmidt", "Meyer", "Smith", "Jones", "Dubois", "Martin", "Rossi", "Novak",
    "Jansen", "Berg", "Keller", "Wagner", "Fischer", "Brown", "Weber", "Lang", "Frank",
];
const DOMAINS: &[&str] = &[
    "posteo.de",
    "riseup.net",
    "protonmail.com",
    "gmail.com",
    "mailbox.org",
    "tutanota.com",
    "gmx.de",
    "web.de",
    "disroot.org",
    "systemli.org",
    "fastmail.com",
    "outlook.com",
];
const ORGS: &[&str] = &[
    "torservers",
    "privacyfoundation",
    "relayops",
    "onionbox",
    "freespeech",
    "netzfreiheit",
    "nodewatch",
    "anonops",
    "digitalrights",
    "opennet",
    "libertynet",
    "crypto-party",
];

/// Default nicknames that many unrelated operators never change.
pub const DEFAULT_NICKNAMES: &[&str] = &["Unnamed", "default", "ididnteditheconfig", "MyRelay"];

fn word(rng: &mut Rng) -> &'static str {
    WORDS[rng.below(WORDS.len() as u64) as usize]
}

fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

fn clip(mut s: String) -> String {
    s.retain(|c| c.is_ascii_alphanumeric());
    s.truncate(19);
    if s.is_empty() {
        s.push_str("Unnamed");
    }
    s
}

/// An ordinary background nickname.
pub fn background(rng: &mut Rng) -> String {
    let x = rng.f64();
    let s = if x < 0.04 {
        DEFAULT_NICKNAMES[rng.below(2) as usize].to_string()
    } else if x < 0.40 {
        format!("{}{}", cap(word(rng)), cap(word(rng)))
    } else if x < 0.62 {
        format!("{}{}", word(rng), rng.range(1, 999))
    } else if x < 0.80 {
        format!("{}{}{}", word(rng), word(rng), word(rng))
    } else if x < 0.90 {
        format!("{}{:x}", cap(word(rng)), rng.below(0xffff))
    } else {
        format!("{}{}", rng.pick(FIRST), word(rng))
    };
    clip(s)
}

/// A prefix shared by an operator's relays (`prefix` + index).
pub fn operator_prefix(rng: &mut Rng) -> String {
    let s = if rng.chance(0.5) {
        format!("{}{}", rng.pick(ORGS), word(rng))
    } else {
        format!("{}{}", cap(word(rng)), cap(word(rng)))
    };
    let mut s = clip(s);
    s.truncate(14);
    s
}

/// Nickname number `i` of an operator or actor with `prefix`.
pub fn numbered(prefix: &str, i: usize, width: usize) -> String {
    clip(format!("{prefix}{i:0width$}"))
}

/// A nickname in a named style: "random-words", "default", "prefix-number", "hex", "operator".
pub fn styled(rng: &mut Rng, style: &str, prefix: &str, i: usize) -> String {
    match style {
        "default" => DEFAULT_NICKNAMES[rng.weighted(&[0.7, 0.15, 0.1, 0.05])].to_string(),
        "prefix-number" | "operator" => {
            numbered(if prefix.is_empty() { "relay" } else { prefix }, i, 2)
        }
        "hex" => clip(format!(
            "{}{:08x}",
            if prefix.is_empty() { "n" } else { prefix },
            rng.next_u64() as u32
        )),
        _ => {
            // random-words: two or three words with random capitalisation, no shared prefix
            let s = if rng.chance(0.5) {
                format!("{}{}", cap(word(rng)), word(rng))
            } else {
                format!("{}{}{}", word(rng), cap(word(rng)), rng.range(0, 99))
            };
            clip(s)
        }
    }
}

fn obfuscated_email(rng: &mut Rng, user: &str, domain: &str) -> String {
    let (name, tld) = domain.rsplit_once('.').unwrap_or((domain, "org"));
    match rng.below(5) {
        0 => format!("{user}@{domain}"),
        1 => format!("{user} at {name} dot {tld}"),
        2 => format!("{user} AT {name} DOT {tld}"),
        3 => format!("{user}[at]{name}[dot]{tld}"),
        _ => format!("<{user} [at] {domain}>"),
    }
}

/// A placeholder contact line, the same for many unrelated operators.
pub fn placeholder_contact(rng: &mut Rng) -> String {
    const PLACEHOLDERS: [&str; 5] = [
        "Random Person <nobody AT example dot com>",
        "0xFFFFFFFF Random Person <nobody AT example dot com>",
        "none",
        "n/a",
        "tor-operator@your-emailaddress-domain",
    ];
    rng.pick(&PLACEHOLDERS).to_string()
}

/// A realistic free-text (or ContactInfo-spec) contact line for one operator.
pub fn contact(rng: &mut Rng, ciiss_fraction: f64) -> String {
    let first = *rng.pick(FIRST);
    let last = *rng.pick(LAST);
    // Mailbox names carry a number, as real ones mostly do: two unrelated operators must not
    // share a contact by accident (the attribution rightly takes a shared contact for one
    // operator).
    let number = rng.range(1, 9999);
    let user = match rng.below(3) {
        0 => format!("{}{number}", first.to_lowercase()),
        1 => format!("{}.{}{number}", first.to_lowercase(), last.to_lowercase()),
        _ => format!("tor-{}{number}", word(rng)),
    };
    if rng.chance(ciiss_fraction) {
        let org = format!(
            "{}{}.{}",
            rng.pick(ORGS),
            rng.range(1, 99),
            ["org", "net", "de", "eu"][rng.below(4) as usize]
        );
        let mut s = format!("email:{user}[]{org} url:https://{org} proof:uri-rsa");
        if rng.chance(0.4) {
            s.push_str(&format!(" pgp:{:016X}", rng.next_u64()));
        }
        if rng.chance(0.5) {
            s.push_str(&format!(" abuse:abuse[]{org}"));
        }
        if rng.chance(0.3) {
            s.push_str(&format!(
                " uplinkbw:{}",
                [100, 250, 500, 1000][rng.below(4) as usize]
            ));
        }
        s.push_str(" ciissversion:2");
        return s;
    }
    let domain = *rng.pick(DOMAINS);
    let email = obfuscated_email(rng, &user, domain);
    match rng.below(7) {
        0 => format!("{first} {last} <{email}>"),
        1 => format!("0x{:08X} {first} {last} <{email}>", rng.next_u64() as u32),
        2 => format!("0x{:016X} {email}", rng.next_u64()),
        3 => email,
        4 => format!("{email} - {}", btc_like(rng)),
        5 => format!(
            "{first} <{email}> https://{}.{}",
            word(rng),
            ["org", "net", "de"][rng.below(3) as usize]
        ),
        _ => format!("Tor relay operator {first} {last} {email}"),
    }
}

fn btc_like(rng: &mut Rng) -> String {
    const A: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut s = String::from("1");
    for _ in 0..33 {
        s.push(A[rng.below(A.len() as u64) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_are_valid() {
        let mut r = Rng::new(1);
        for i in 0..2000 {
            for n in [
                background(&mut r),
                styled(&mut r, "random-words", "", i),
                styled(&mut r, "hex", "x", i),
                numbered(&operator_prefix(&mut r), i % 100, 2),
            ] {
                assert!((1..=19).contains(&n.len()), "{n}");
                assert!(n.chars().all(|c| c.is_ascii_alphanumeric()), "{n}");
            }
            let c = contact(&mut r, 0.2);
            assert!(!c.is_empty() && !c.contains('\n'));
        }
    }
}
