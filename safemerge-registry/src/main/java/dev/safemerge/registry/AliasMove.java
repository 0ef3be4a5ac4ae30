package dev.safemerge.registry;

/**
 * One move of an alias: to a version, or to follow another alias ({@code toAlias}); the gate verdict that allowed it
 * or the override and its reason; {@code branch} is the branch whose head was promoted, or null.
 */
public record AliasMove(
        long id,
        String alias,
        String action,
        VersionRef from,
        VersionRef to,
        String toAlias,
        Long gateVerdictId,
        boolean override,
        String reason,
        boolean pinned,
        String actor,
        String at,
        String branch) {}
