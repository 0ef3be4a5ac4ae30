package dev.safemerge.ui;

import dev.safemerge.registry.AliasMove;
import dev.safemerge.registry.AliasState;
import dev.safemerge.registry.AuditEntry;
import dev.safemerge.registry.Evaluation;
import dev.safemerge.registry.GateVerdict;
import dev.safemerge.registry.LineageEdge;
import dev.safemerge.registry.ModelVersion;
import dev.safemerge.registry.Registry;
import dev.safemerge.registry.Tag;
import dev.safemerge.registry.VerifyReport;
import dev.safemerge.registry.VersionRef;
import dev.safemerge.safeguard.Rate;
import dev.safemerge.tensor.BadInputException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * What each page shows, read from the registry: plain records the templates render (and escape). The registry holds
 * one connection, so every read runs under its lock.
 */
final class Views {
    static final String SAFETY = "safety";
    static final String OVER_REFUSAL = "over-refusal";
    static final String TASK = "task";
    /** A model card longer than this is cut (the page is for reading, the file stays where it is). */
    static final int MAX_CARD_CHARS = 64 * 1024;

    private final Registry registry;

    Views(Registry registry) {
        this.registry = registry;
    }

    static <T> T locked(Registry registry, Function<Registry, T> work) {
        synchronized (registry) {
            return work.apply(registry);
        }
    }

    private <T> T read(Function<Registry, T> work) {
        return locked(registry, work);
    }

    // ---------------------------------------------------------------- versions

    /** A measured rate as shown in a table cell: value, 95% interval and N, or n/a; sorted by value, n/a last. */
    record RateCell(String text, double sortKey) {
        static final RateCell NONE = new RateCell("—", Double.MAX_VALUE);

        static RateCell of(Double value, int n, Double low, Double high) {
            if (value == null) {
                return new RateCell("n/a (N " + n + ")", Double.MAX_VALUE);
            }
            String interval = low == null || high == null ? "" : String.format(Locale.ROOT, " [%.3f, %.3f]", low, high);
            return new RateCell(String.format(Locale.ROOT, "%.3f%s (N %d)", value, interval, n), value);
        }

        /** An evaluation's rate, naming its suite (the latest of a kind may come from any suite). */
        static RateCell of(Evaluation e) {
            if (e == null) {
                return NONE;
            }
            RateCell rate = of(e.value(), e.n(), e.ciLow(), e.ciHigh());
            return new RateCell(rate.text() + " · " + e.suite(), rate.sortKey());
        }

        static RateCell of(Rate rate) {
            return rate.known()
                    ? of(
                            rate.value(),
                            rate.n(),
                            rate.interval().low(),
                            rate.interval().high())
                    : of(null, 0, null, null);
        }
    }

    record VersionRow(
            String ref,
            String kind,
            List<String> parents,
            List<String> tags,
            RateCell asr,
            RateCell overRefusal,
            RateCell task,
            List<String> aliases,
            String created) {}

    List<VersionRow> versions() {
        return read(r -> {
            Map<String, List<String>> aliasesByVersion = aliasesByVersion(r);
            List<VersionRow> rows = new ArrayList<>();
            for (ModelVersion m : r.models()) {
                List<Evaluation> evaluations = r.evaluations(m.ref());
                rows.add(new VersionRow(
                        m.ref().toString(),
                        m.kind().label(),
                        parents(r, m.ref()),
                        r.tags(m.ref()).stream().map(Tag::tag).distinct().toList(),
                        RateCell.of(latest(evaluations, SAFETY, null)),
                        RateCell.of(latest(evaluations, OVER_REFUSAL, null)),
                        RateCell.of(latest(evaluations, TASK, null)),
                        aliasesByVersion.getOrDefault(m.ref().toString(), List.of()),
                        m.createdAt()));
            }
            return rows;
        });
    }

    private static Map<String, List<String>> aliasesByVersion(Registry r) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (AliasState a : r.aliases()) {
            if (a.version() != null) {
                out.computeIfAbsent(a.version().toString(), k -> new ArrayList<>())
                        .add(a.alias());
            }
        }
        return out;
    }

    private static List<String> parents(Registry r, VersionRef ref) {
        return r.lineage(ref).stream()
                .filter(e -> e.depth() == 1)
                .map(e -> e.parent().toString())
                .toList();
    }

    /** The newest evaluation of this kind (and suite, when given) that no later one superseded, or null. */
    static Evaluation latest(List<Evaluation> evaluations, String kind, String suite) {
        return evaluations.stream()
                .filter(e -> e.kind().equals(kind) && e.supersededBy() == null)
                .filter(e -> suite == null || e.suite().equals(suite))
                .max(Comparator.comparingLong(Evaluation::id))
                .orElse(null);
    }

    // ---------------------------------------------------------------- one version

    record EvaluationRow(Evaluation e, RateCell rate, String compareLink) {}

    record LineageNode(String ref, String kind, int x, int y, boolean current) {}

    record LineageLink(int x1, int y1, int x2, int y2) {}

    /** The lineage as boxes in columns (oldest ancestors left, the version, its children right) and links. */
    record Lineage(int width, int height, List<LineageNode> nodes, List<LineageLink> links) {
        static final int BOX_WIDTH = 170;
        static final int BOX_HEIGHT = 36;
        static final int COLUMN = 220;
        static final int ROW = 52;
        static final int MARGIN = 10;
    }

    record VersionPage(
            ModelVersion model,
            List<String> parents,
            Lineage lineage,
            List<EvaluationRow> evaluations,
            List<Tag> tags,
            List<GateVerdict> gates,
            List<String> aliases,
            String card) {}

    VersionPage version(VersionRef ref) {
        return read(r -> {
            ModelVersion model = r.model(ref);
            List<String> parents = parents(r, ref);
            List<EvaluationRow> evaluations = new ArrayList<>();
            for (Evaluation e : r.evaluations(ref)) {
                String link = parents.isEmpty() || e.supersededBy() != null
                        ? null
                        : "/compare?a=" + Dashboard.encode(parents.getFirst()) + "&b="
                                + Dashboard.encode(ref.toString()) + "&suite="
                                + Dashboard.encode(e.kind() + ":" + e.suite());
                evaluations.add(new EvaluationRow(e, RateCell.of(e), link));
            }
            return new VersionPage(
                    model,
                    parents,
                    lineage(r, ref),
                    evaluations,
                    r.tags(ref),
                    r.gateVerdicts(ref),
                    aliasesByVersion(r).getOrDefault(ref.toString(), List.of()),
                    card(model));
        });
    }

    private static Lineage lineage(Registry r, VersionRef ref) {
        List<LineageEdge> ancestry = r.lineage(ref);
        Map<String, Integer> depth = new LinkedHashMap<>(); // ancestors: generations before the version
        Map<String, String> kinds = new LinkedHashMap<>();
        depth.put(ref.toString(), 0);
        kinds.put(ref.toString(), r.model(ref).kind().label());
        for (LineageEdge e : ancestry) {
            depth.merge(e.parent().toString(), e.depth(), Math::max);
            kinds.put(e.parent().toString(), e.parentKind().label());
        }
        List<String[]> links = new ArrayList<>(); // {parent, child}
        ancestry.forEach(
                e -> links.add(new String[] {e.parent().toString(), e.child().toString()}));
        List<String> children = new ArrayList<>();
        for (ModelVersion m : r.models()) {
            if (!m.ref().equals(ref) && parents(r, m.ref()).contains(ref.toString())) {
                children.add(m.ref().toString());
                kinds.put(m.ref().toString(), m.kind().label());
                links.add(new String[] {ref.toString(), m.ref().toString()});
            }
        }
        int generations =
                depth.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        Map<Integer, List<String>> columns = new LinkedHashMap<>();
        depth.forEach((node, d) ->
                columns.computeIfAbsent(generations - d, c -> new ArrayList<>()).add(node));
        if (!children.isEmpty()) {
            columns.put(generations + 1, children);
        }
        Map<String, int[]> at = new LinkedHashMap<>();
        List<LineageNode> nodes = new ArrayList<>();
        int rows = 1;
        for (var column : columns.entrySet()) {
            List<String> names = column.getValue();
            rows = Math.max(rows, names.size());
            for (int i = 0; i < names.size(); i++) {
                int x = Lineage.MARGIN + column.getKey() * Lineage.COLUMN;
                int y = Lineage.MARGIN + i * Lineage.ROW;
                at.put(names.get(i), new int[] {x, y});
                nodes.add(new LineageNode(
                        names.get(i),
                        kinds.get(names.get(i)),
                        x,
                        y,
                        names.get(i).equals(ref.toString())));
            }
        }
        List<LineageLink> drawn = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (String[] link : links) {
            if (!seen.add(link[0] + "\n" + link[1])) {
                continue;
            }
            int[] from = at.get(link[0]);
            int[] to = at.get(link[1]);
            drawn.add(new LineageLink(
                    from[0] + Lineage.BOX_WIDTH,
                    from[1] + Lineage.BOX_HEIGHT / 2,
                    to[0],
                    to[1] + Lineage.BOX_HEIGHT / 2));
        }
        int width = 2 * Lineage.MARGIN + (columns.size() - 1) * Lineage.COLUMN + Lineage.BOX_WIDTH;
        int height = 2 * Lineage.MARGIN + (rows - 1) * Lineage.ROW + Lineage.BOX_HEIGHT;
        return new Lineage(width, height, nodes, drawn);
    }

    /** The model card: README.md in the model's folder, or null where there is none (or the folder is gone). */
    private static String card(ModelVersion model) {
        Path readme = Path.of(model.location()).resolve("README.md");
        if (!Files.isRegularFile(readme)) {
            return null;
        }
        try (InputStream in = Files.newInputStream(readme)) {
            String text = new String(in.readNBytes(MAX_CARD_CHARS * 4), StandardCharsets.UTF_8);
            return text.length() > MAX_CARD_CHARS ? text.substring(0, MAX_CARD_CHARS) + "\n[…]" : text;
        } catch (IOException e) {
            return "cannot read " + readme + ": " + e.getMessage();
        }
    }

    // ---------------------------------------------------------------- sweeps

    record SweepRow(String name, String method, int variants, String created) {}

    List<SweepRow> sweeps() {
        return read(r -> {
            List<ModelVersion> models = r.models();
            return r.sweeps().stream()
                    .map(s -> new SweepRow(
                            s.name(),
                            s.method(),
                            (int) models.stream()
                                    .filter(m -> s.name().equals(m.sweep()))
                                    .count(),
                            s.createdAt()))
                    .toList();
        });
    }

    SweepView.Page sweep(String name) {
        return read(r -> SweepView.of(r, name));
    }

    // ---------------------------------------------------------------- compare

    CompareView.Page compare(String a, String b, String suite, String category) {
        return read(r -> CompareView.of(r, a, b, suite, category));
    }

    // ---------------------------------------------------------------- aliases, audit, gates

    record MoveRow(
            String at,
            String actor,
            String action,
            String from,
            String to,
            String gate,
            boolean override,
            String reason) {}

    record AliasRow(String name, String version, List<String> via, boolean pinned, List<MoveRow> history) {}

    record AliasesPage(List<AliasRow> aliases, List<String> versions) {}

    AliasesPage aliases() {
        return read(r -> {
            Map<Long, GateVerdict> gates = new LinkedHashMap<>();
            allGates(r).forEach(g -> gates.put(g.id(), g));
            List<AliasRow> rows = new ArrayList<>();
            for (AliasState a : r.aliases()) {
                List<MoveRow> history = new ArrayList<>();
                for (AliasMove m : r.aliasHistory(a.alias()).reversed()) {
                    GateVerdict g = m.gateVerdictId() == null ? null : gates.get(m.gateVerdictId());
                    history.add(new MoveRow(
                            m.at(),
                            m.actor(),
                            m.action(),
                            m.from() == null ? "—" : m.from().toString(),
                            m.to() != null ? m.to().toString() : "alias " + m.toAlias(),
                            g == null ? "—" : "#" + g.id() + " " + g.outcome() + " (" + g.suite() + ")",
                            m.override(),
                            m.reason()));
                }
                rows.add(new AliasRow(
                        a.alias(), a.version() == null ? "—" : a.version().toString(), a.via(), a.pinned(), history));
            }
            return new AliasesPage(
                    rows, r.models().stream().map(m -> m.ref().toString()).toList());
        });
    }

    private static List<GateVerdict> allGates(Registry r) {
        List<GateVerdict> out = new ArrayList<>();
        for (ModelVersion m : r.models()) {
            out.addAll(r.gateVerdicts(m.ref()));
        }
        out.sort(Comparator.comparingLong(GateVerdict::id).reversed());
        return out;
    }

    record AuditPage(VerifyReport verification, String error, List<AuditEntry> entries) {}

    AuditPage audit() {
        return read(r -> {
            VerifyReport report = null;
            String error = null;
            try {
                report = r.verify();
            } catch (BadInputException e) {
                error = e.getMessage();
            }
            return new AuditPage(report, error, r.log().reversed());
        });
    }

    List<GateVerdict> gates() {
        return read(Views::allGates);
    }
}
