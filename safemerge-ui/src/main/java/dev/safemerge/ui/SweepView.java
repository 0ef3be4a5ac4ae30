package dev.safemerge.ui;

import dev.safemerge.registry.Evaluation;
import dev.safemerge.registry.GateVerdict;
import dev.safemerge.registry.ModelKind;
import dev.safemerge.registry.ModelVersion;
import dev.safemerge.registry.Registry;
import dev.safemerge.registry.Sweep;
import dev.safemerge.safeguard.Plots;
import dev.safemerge.safeguard.Selection;
import dev.safemerge.tensor.BadInputException;
import java.awt.Color;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * A sweep page: the sweep and its sibling sweeps (other methods over the same base and fine-tuned parents), each
 * variant's latest ASR, over-refusal and task score with their intervals, plotted against λ per method (the base at
 * λ = 0 and the fine-tuned model at λ = 1 as the ends, as the safeguard report draws them), and task score against
 * ASR with the Pareto front (each measure on the suite most of these models were evaluated on), dominated variants greyed and the selection (a passing gate verdict of suite
 * {@value GateVerdict#SELECTION}) marked.
 */
final class SweepView {
    private static final Color[] PALETTE = {
        new Color(0x1f77b4),
        new Color(0xd62728),
        new Color(0x2ca02c),
        new Color(0x9467bd),
        new Color(0xff7f0e),
        new Color(0x8c564b),
        new Color(0xe377c2),
        new Color(0x17becf)
    };
    private static final Color GREY = new Color(0xb0b0b0);

    private SweepView() {}

    /** A model of the study with its method (or base, fine-tuned) and λ. */
    private record Member(ModelVersion model, String method, double lambda) {}

    /** One evaluated point of the study; {@code lambda} is 0 for the base and 1 for the fine-tuned model. */
    record Point(
            ModelVersion model,
            String method,
            double lambda,
            Evaluation asr,
            Evaluation overRefusal,
            Evaluation task,
            boolean onFront,
            boolean selected) {
        Double asrValue() {
            return asr == null ? null : asr.value();
        }

        Double taskValue() {
            return task == null ? null : task.value();
        }
    }

    record Row(
            String ref,
            String method,
            String lambda,
            Views.RateCell asr,
            Views.RateCell overRefusal,
            Views.RateCell task,
            boolean onFront,
            boolean selected) {}

    /**
     * @param suites the suite each measure was read from, by kind
     * @param plots inline SVG drawn by XChart from numbers and method names only
     */
    record Page(
            String name,
            List<Sweep> sweeps,
            Map<String, String> suites,
            List<Row> rows,
            String selected,
            List<String> plots) {}

    static Page of(Registry r, String name) {
        Map<String, Sweep> allSweeps = new LinkedHashMap<>();
        r.sweeps().forEach(s -> allSweeps.put(s.name(), s));
        if (!allSweeps.containsKey(name)) {
            throw new BadInputException("no sweep named " + name);
        }
        List<ModelVersion> models = r.models();
        Map<String, Set<String>> parentsBySweep = new LinkedHashMap<>();
        Map<String, ModelVersion> byRef = new LinkedHashMap<>();
        for (ModelVersion m : models) {
            byRef.put(m.ref().toString(), m);
            if (m.sweep() != null) {
                parentsBySweep
                        .computeIfAbsent(m.sweep(), s -> new LinkedHashSet<>())
                        .addAll(r.lineage(m.ref()).stream()
                                .filter(e -> e.depth() == 1)
                                .map(e -> e.parent().toString())
                                .toList());
            }
        }
        Set<String> parents = parentsBySweep.getOrDefault(name, Set.of());
        List<Sweep> study = allSweeps.values().stream()
                .filter(s ->
                        s.name().equals(name) || (!parents.isEmpty() && parents.equals(parentsBySweep.get(s.name()))))
                .toList();
        // the base at λ 0 and the fine-tuned parents at λ 1 end every method's line
        List<Member> members = new ArrayList<>();
        for (String parent : parents) {
            ModelVersion m = byRef.get(parent);
            if (m.kind() == ModelKind.BASE) {
                members.add(new Member(m, "base", 0.0));
            }
        }
        for (String parent : parents) {
            ModelVersion m = byRef.get(parent);
            if (m.kind() != ModelKind.BASE) {
                members.add(new Member(m, "fine-tuned", 1.0));
            }
        }
        for (Sweep s : study) {
            for (ModelVersion m : models) {
                if (s.name().equals(m.sweep())) {
                    members.add(new Member(m, s.method(), m.sweepValue() == null ? 1.0 : m.sweepValue()));
                }
            }
        }
        Map<String, List<Evaluation>> evaluations = new LinkedHashMap<>();
        for (Member member : members) {
            ModelVersion m = member.model();
            evaluations.put(m.ref().toString(), r.evaluations(m.ref()));
        }
        Map<String, String> suites = new LinkedHashMap<>();
        for (String kind : List.of(Views.SAFETY, Views.OVER_REFUSAL, Views.TASK)) {
            String suite = commonSuite(evaluations.values(), kind);
            if (suite != null) {
                suites.put(kind, suite);
            }
        }
        List<Point> points = new ArrayList<>();
        for (Member member : members) {
            ModelVersion m = member.model();
            List<Evaluation> e = evaluations.get(m.ref().toString());
            points.add(new Point(
                    m,
                    member.method(),
                    member.lambda(),
                    latest(e, Views.SAFETY, suites),
                    latest(e, Views.OVER_REFUSAL, suites),
                    latest(e, Views.TASK, suites),
                    false,
                    false));
        }
        Set<String> front = new LinkedHashSet<>();
        Selection.paretoFront(points, Point::asrValue, Point::taskValue)
                .forEach(p -> front.add(p.model().ref().toString()));
        String selected = points.stream()
                .flatMap(p -> r.gateVerdicts(p.model().ref()).stream())
                .filter(g -> g.suite().equals(GateVerdict.SELECTION) && g.passed())
                .max(Comparator.comparingLong(GateVerdict::id))
                .map(g -> g.model().toString())
                .orElse(null);
        List<Point> marked = points.stream()
                .map(p -> new Point(
                        p.model(),
                        p.method(),
                        p.lambda(),
                        p.asr(),
                        p.overRefusal(),
                        p.task(),
                        front.contains(p.model().ref().toString()),
                        p.model().ref().toString().equals(selected)))
                .toList();
        List<Row> rows = marked.stream()
                .map(p -> new Row(
                        p.model().ref().toString(),
                        p.method(),
                        String.format(java.util.Locale.ROOT, "%.2f", p.lambda()),
                        Views.RateCell.of(p.asr()),
                        Views.RateCell.of(p.overRefusal()),
                        Views.RateCell.of(p.task()),
                        p.onFront(),
                        p.selected()))
                .toList();
        List<String> plots = List.of(
                Plots.svg(byLambda(marked, "ASR vs λ", "ASR", Point::asr)),
                Plots.svg(byLambda(marked, "Over-refusal vs λ", "over-refusal", Point::overRefusal)),
                Plots.svg(byLambda(marked, "Task score vs λ", "task score", Point::task)),
                Plots.svg(tradeOff(marked)));
        return new Page(name, study, suites, rows, selected, plots);
    }

    private static Evaluation latest(List<Evaluation> evaluations, String kind, Map<String, String> suites) {
        return suites.containsKey(kind) ? Views.latest(evaluations, kind, suites.get(kind)) : null;
    }

    /** The suite of this kind that most of the study's models were evaluated on (ties: the first by name). */
    private static String commonSuite(Iterable<List<Evaluation>> evaluations, String kind) {
        Map<String, Integer> counts = new java.util.TreeMap<>();
        for (List<Evaluation> list : evaluations) {
            list.stream()
                    .filter(e -> e.kind().equals(kind) && e.supersededBy() == null)
                    .map(Evaluation::suite)
                    .distinct()
                    .forEach(suite -> counts.merge(suite, 1, Integer::sum));
        }
        return counts.entrySet().stream()
                .max(Map.Entry.<String, Integer>comparingByValue()
                        .thenComparing(Map.Entry.comparingByKey(Comparator.reverseOrder())))
                .map(Map.Entry::getKey)
                .orElse(null);
    }

    /** One line per method through its λ points and both ends, with the 95% interval of each point as a bar. */
    private static XYChart byLambda(
            List<Point> points, String title, String yTitle, Function<Point, Evaluation> measure) {
        XYChart chart = Plots.chart(title, "λ", yTitle);
        // an interval end such as 0.390334287902165 would otherwise label the axis with every digit
        chart.getStyler().setYAxisDecimalPattern("0.###");
        Point base = points.stream()
                .filter(p -> p.method().equals("base"))
                .findFirst()
                .orElse(null);
        Point tuned = points.stream()
                .filter(p -> p.method().equals("fine-tuned"))
                .findFirst()
                .orElse(null);
        Map<String, List<Point>> byMethod = new LinkedHashMap<>();
        for (Point p : points) {
            if (p != base && p != tuned) {
                byMethod.computeIfAbsent(p.method(), m -> new ArrayList<>()).add(p);
            }
        }
        int colour = 0;
        for (var entry : byMethod.entrySet()) {
            List<Point> line = new ArrayList<>(entry.getValue());
            if (base != null) {
                line.add(base);
            }
            if (tuned != null) {
                line.add(tuned);
            }
            line.sort(Comparator.comparingDouble(Point::lambda));
            List<double[]> xy = new ArrayList<>();
            Color color = PALETTE[colour++ % PALETTE.length];
            for (Point p : line) {
                Evaluation e = measure.apply(p);
                if (e == null || e.value() == null) {
                    continue;
                }
                xy.add(new double[] {p.lambda(), e.value()});
                if (e.ciLow() != null && e.ciHigh() != null) {
                    XYSeries bar = Plots.add(
                            chart,
                            label(entry.getKey()) + " " + p.model().ref() + " 95% interval",
                            List.of(new double[] {p.lambda(), e.ciLow()}, new double[] {p.lambda(), e.ciHigh()}));
                    bar.setShowInLegend(false);
                    bar.setMarker(SeriesMarkers.NONE);
                    bar.setLineColor(color);
                }
            }
            XYSeries series = Plots.add(chart, label(entry.getKey()), xy);
            series.setLineColor(color);
            series.setMarkerColor(color);
        }
        return chart;
    }

    /** Task score against ASR: the Pareto front as a line, dominated variants grey, the selection a diamond. */
    private static XYChart tradeOff(List<Point> points) {
        XYChart chart = Plots.chart("Task score vs ASR", "ASR", "task score");
        chart.getStyler().setYAxisDecimalPattern("0.###");
        List<double[]> front = new ArrayList<>();
        List<double[]> dominated = new ArrayList<>();
        List<double[]> chosen = new ArrayList<>();
        for (Point p : points) {
            if (p.asrValue() == null || p.taskValue() == null) {
                continue;
            }
            double[] xy = {p.asrValue(), p.taskValue()};
            (p.onFront() ? front : dominated).add(xy);
            if (p.selected()) {
                chosen.add(xy);
            }
        }
        front.sort(Comparator.comparingDouble(xy -> xy[0]));
        XYSeries greyed = Plots.add(chart, "dominated", dominated);
        greyed.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        greyed.setMarkerColor(GREY);
        XYSeries line = Plots.add(chart, "Pareto front", front);
        line.setLineColor(PALETTE[0]);
        line.setMarkerColor(PALETTE[0]);
        XYSeries selected = Plots.add(chart, "selected", chosen);
        selected.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        selected.setMarker(SeriesMarkers.DIAMOND);
        selected.setMarkerColor(PALETTE[1]);
        return chart;
    }

    /** A method name as a legend label: the SVG is inlined unescaped, so only plain name characters pass. */
    static String label(String method) {
        return method.replaceAll("[^A-Za-z0-9_.+-]", "_");
    }
}
