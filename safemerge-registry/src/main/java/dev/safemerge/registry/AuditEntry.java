package dev.safemerge.registry;

/** One entry of the hash-chained audit log. */
public record AuditEntry(
        long seq, String at, String actor, String action, String subject, String detail, String prevHash, String hash) {
    /** The hash this entry must carry: SHA-256 over the previous entry's hash and every field of this one. */
    static String hashOf(long seq, String at, String actor, String action, String subject, String detail, String prev) {
        return Hashing.sha256OfFields(prev, Long.toString(seq), at, actor, action, subject, detail);
    }
}
