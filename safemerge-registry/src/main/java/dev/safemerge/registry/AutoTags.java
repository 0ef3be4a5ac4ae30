package dev.safemerge.registry;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Tags computed from measurements against the version's base (the nearest ancestor of kind base), on the newest
 * comparable evaluation of each suite — the base's evaluation must share the comparability key:
 * <ul>
 *   <li>{@code asr<=base}: the ASR is at most the base's;
 *   <li>{@code regressed}: the ASR interval lies wholly above the base's ASR, or a task score's interval wholly below
 *       the base's score;
 *   <li>{@code over-refusing}: the over-refusal interval lies wholly above the base's rate plus
 *       {@link Registry#OVER_REFUSAL_TOLERANCE}.
 * </ul>
 * Each tag names the evaluation it came from. Recomputed for a version and all its descendants whenever an evaluation
 * lands (a new base measurement changes its descendants' tags).
 */
final class AutoTags {
    private AutoTags() {}

    static void recompute(Connection c, long versionId, String at, String actor) throws SQLException {
        for (long id : withDescendants(c, versionId)) {
            Registry.update(c, "DELETE FROM tag WHERE version_id = ? AND automatic = 1", id);
            Long base = nearestBase(c, id);
            if (base == null) {
                continue;
            }
            Map<String, String> tags = new LinkedHashMap<>();
            for (Evaluation mine : newestPerSuite(c, id)) {
                Evaluation theirs = Registry.queryEvaluations(
                                c,
                                " WHERE e.model_version_id = ? AND e.kind = ? AND e.comparability_key = ?"
                                        + " AND e.superseded_by IS NULL ORDER BY e.id DESC",
                                base,
                                mine.kind(),
                                mine.comparabilityKey())
                        .stream()
                        .findFirst()
                        .orElse(null);
                if (theirs == null || mine.value() == null || theirs.value() == null) {
                    continue;
                }
                String evaluation = Long.toString(mine.id());
                switch (mine.kind()) {
                    case "safety" -> {
                        if (mine.value() <= theirs.value()) {
                            tags.putIfAbsent("asr<=base", evaluation);
                        }
                        if (mine.ciLow() != null && mine.ciLow() > theirs.value()) {
                            tags.putIfAbsent("regressed", evaluation);
                        }
                    }
                    case "over-refusal" -> {
                        if (mine.ciLow() != null && mine.ciLow() > theirs.value() + Registry.OVER_REFUSAL_TOLERANCE) {
                            tags.putIfAbsent("over-refusing", evaluation);
                        }
                    }
                    default -> {
                        if (mine.ciHigh() != null && mine.ciHigh() < theirs.value()) {
                            tags.putIfAbsent("regressed", evaluation);
                        }
                    }
                }
            }
            for (var tag : tags.entrySet()) {
                if (Registry.queryLong(
                                c, "SELECT version_id FROM tag WHERE version_id = ? AND tag = ?", id, tag.getKey())
                        == null) {
                    Registry.update(
                            c,
                            "INSERT INTO tag (version_id, tag, evaluation_id, automatic, created_at, actor)"
                                    + " VALUES (?, ?, ?, 1, ?, ?)",
                            id,
                            tag.getKey(),
                            Long.parseLong(tag.getValue()),
                            at,
                            actor);
                }
            }
        }
    }

    private static List<Evaluation> newestPerSuite(Connection c, long id) throws SQLException {
        Map<String, Evaluation> newest = new LinkedHashMap<>();
        for (Evaluation e : Registry.queryEvaluations(
                c, " WHERE e.model_version_id = ? AND e.superseded_by IS NULL ORDER BY e.id DESC", id)) {
            newest.putIfAbsent(e.kind() + "\n" + e.suite(), e);
        }
        return new ArrayList<>(newest.values());
    }

    private static Set<Long> withDescendants(Connection c, long id) throws SQLException {
        Set<Long> out = new LinkedHashSet<>();
        Deque<Long> queue = new ArrayDeque<>(List.of(id));
        while (!queue.isEmpty()) {
            long next = queue.poll();
            if (out.add(next)) {
                queue.addAll(Registry.queryLongs(c, "SELECT child_id FROM model_parent WHERE parent_id = ?", next));
            }
        }
        return out;
    }

    private static Long nearestBase(Connection c, long id) throws SQLException {
        Set<Long> seen = new LinkedHashSet<>(List.of(id));
        Deque<Long> queue = new ArrayDeque<>(
                Registry.queryLongs(c, "SELECT parent_id FROM model_parent WHERE child_id = ? ORDER BY position", id));
        while (!queue.isEmpty()) {
            long next = queue.poll();
            if (!seen.add(next)) {
                continue;
            }
            if (Registry.modelById(c, next).kind() == ModelKind.BASE) {
                return next;
            }
            queue.addAll(Registry.queryLongs(
                    c, "SELECT parent_id FROM model_parent WHERE child_id = ? ORDER BY position", next));
        }
        return null;
    }
}
