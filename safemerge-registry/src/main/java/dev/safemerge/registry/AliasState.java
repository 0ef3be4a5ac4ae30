package dev.safemerge.registry;

import java.util.List;

/** Where an alias points (at a time): the version, the aliases followed to reach it, and the move that set it. */
public record AliasState(String alias, VersionRef version, List<String> via, AliasMove move, boolean pinned) {}
