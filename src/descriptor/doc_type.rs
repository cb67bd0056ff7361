//! The document types relaytrail recognises ([`DocType`]), with their CollecTor `@type`
//! names and what the importer does with each.

use std::fmt;

/// Every document type relaytrail recognises. Only some are imported yet; the others are
/// counted as skipped in the import manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocType {
    Consensus,
    ServerDescriptor,
    ExitList,
    MicrodescConsensus,
    Vote,
    ExtraInfo,
    Microdescriptor,
    KeyCertificate,
    DetachedSignature,
    StatusEntry,
    NetworkStatusV2,
    DirectoryV1,
    BridgeNetworkStatus,
    BridgeServerDescriptor,
    BridgeExtraInfo,
    BridgePoolAssignment,
    Torperf,
    BandwidthFile,
    SnowflakeStats,
    BridgedbMetrics,
    BridgestrapStats,
}

/// Every type with its CollecTor `@type` name.
const TYPE_NAMES: [(DocType, &str); 21] = [
    (DocType::Consensus, "network-status-consensus-3"),
    (DocType::ServerDescriptor, "server-descriptor"),
    (DocType::ExitList, "tordnsel"),
    (
        DocType::MicrodescConsensus,
        "network-status-microdesc-consensus-3",
    ),
    (DocType::Vote, "network-status-vote-3"),
    (DocType::ExtraInfo, "extra-info"),
    (DocType::Microdescriptor, "microdescriptor"),
    (DocType::KeyCertificate, "dir-key-certificate-3"),
    (DocType::DetachedSignature, "detached-signature-3"),
    (DocType::StatusEntry, "network-status-entry-3"),
    (DocType::NetworkStatusV2, "network-status-2"),
    (DocType::DirectoryV1, "directory"),
    (DocType::BridgeNetworkStatus, "bridge-network-status"),
    (DocType::BridgeServerDescriptor, "bridge-server-descriptor"),
    (DocType::BridgeExtraInfo, "bridge-extra-info"),
    (DocType::BridgePoolAssignment, "bridge-pool-assignment"),
    (DocType::Torperf, "torperf"),
    (DocType::BandwidthFile, "bandwidth-file"),
    (DocType::SnowflakeStats, "snowflake-stats"),
    (DocType::BridgedbMetrics, "bridgedb-metrics"),
    (DocType::BridgestrapStats, "bridgestrap-stats"),
];

impl DocType {
    /// The CollecTor `@type` name.
    pub fn type_name(self) -> &'static str {
        TYPE_NAMES
            .iter()
            .find(|(t, _)| *t == self)
            .map(|(_, name)| *name)
            .expect("every type has a name")
    }

    /// Looks up a CollecTor `@type` name.
    pub fn from_type_name(name: &[u8]) -> Option<DocType> {
        TYPE_NAMES
            .iter()
            .find(|(_, n)| n.as_bytes() == name)
            .map(|(t, _)| *t)
    }

    /// The highest `@type` major version this parser understands (CollecTor: parse any
    /// minor version of a known major, never a higher major).
    pub fn supported_major(self) -> u32 {
        1
    }

    /// Whether this importer writes rows for the type (others are recognised and skipped).
    pub fn is_imported(self) -> bool {
        use DocType::*;
        matches!(
            self,
            Consensus
                | ServerDescriptor
                | ExitList
                | MicrodescConsensus
                | Vote
                | ExtraInfo
                | Microdescriptor
                | BridgeNetworkStatus
                | BridgeServerDescriptor
                | BridgeExtraInfo
                | BandwidthFile
                | BridgePoolAssignment
        )
    }

    /// The keyword that starts each document when several are concatenated in one file
    /// without `@type` lines between them (a tor `cached-descriptors` file, say).
    pub fn start_keyword(self) -> Option<&'static [u8]> {
        use DocType::*;
        match self {
            ServerDescriptor | BridgeServerDescriptor => Some(b"router "),
            ExtraInfo | BridgeExtraInfo => Some(b"extra-info "),
            Microdescriptor => Some(b"onion-key"),
            KeyCertificate => Some(b"dir-key-certificate-version "),
            _ => None,
        }
    }
}

impl fmt::Display for DocType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_round_trip_and_are_unique() {
        let mut names: Vec<&str> = TYPE_NAMES.iter().map(|(_, n)| *n).collect();
        for (t, n) in TYPE_NAMES {
            assert_eq!(t.type_name(), n);
            assert_eq!(DocType::from_type_name(n.as_bytes()), Some(t));
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), TYPE_NAMES.len());
        assert_eq!(DocType::from_type_name(b"frobnicator"), None);
    }
}
