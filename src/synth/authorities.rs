//! The nine directory authorities of 2021, which sign the consensuses and write the votes.

/// (nickname, v3 identity, hostname, address, dirport, orport, contact) of the 2021 authorities,
/// sorted by identity.
pub(super) const AUTHORITIES: &[(&str, &str, &str, &str, u16, u16, &str)] = &[
    ("dannenberg", "0232AF901C31A04EE9848595AF9BB7620D4C5B2E", "dannenberg.torauth.de", "193.23.244.244", 80, 443, "Andreas Lehner"),
    ("tor26", "14C131DFC5C6F93646BE72FA1401C02A8DF2E8B4", "86.59.21.38", "86.59.21.38", 80, 443, "Peter Palfrader"),
    ("longclaw", "23D15D965BC35114467363C165C4F724B64B4F66", "199.58.81.140", "199.58.81.140", 80, 443, "Riseup Networks <collective at riseup dot net> - 1nNzekuHGGzBYRzyjfjFEfeisNvxkn4RT"),
    ("bastet", "27102BC123E7AF1D4741AE047E160C91ADC76B21", "204.13.164.118", "204.13.164.118", 80, 443, "stefani <nocat at readthefinemanual dot net> 4096/F4B863AD6642E7EE"),
    ("maatuska", "49015F787433103580E3B66A1707A00E60F2D15B", "171.25.193.9", "171.25.193.9", 443, 80, "4096R/1E8BF34923291265 Linus Nordberg <linus@nordberg.se>"),
    ("moria1", "D586D18309DED4CD6D57C18FDB97EFA96D330566", "128.31.0.34", "128.31.0.34", 9131, 9101, "1024D/28988BF5 arma mit edu"),
    ("dizum", "E8A9C45EDE6D711294FADF8E7951F4DE6CA56B58", "45.66.33.45", "45.66.33.45", 80, 443, "email:usura[]sabotage.org url:https://sabotage.net proof:uri-rsa abuse:abuse[]sabotage.net twitter:adejoode ciissversion:2"),
    ("gabelmoo", "ED03BB616EB2F60BEC80151114BB25CEF515B226", "131.188.40.189", "131.188.40.189", 80, 443, "4096R/261C5FBE77285F88FB0C343266C8C2D7C5AA446D Sebastian Hahn <tor@sebastianhahn.net> - 12NbRAjAG5U3LLWETSF7fSTcdaz32Mu5CN"),
    ("Faravahar", "EFCBE720AB3A82B99F9E953CD5BF50F7EEFC7B97", "154.35.175.225", "154.35.175.225", 80, 443, "0x0B47D56D Sina Rabbani (inf0) <sina redteam net>"),
];
