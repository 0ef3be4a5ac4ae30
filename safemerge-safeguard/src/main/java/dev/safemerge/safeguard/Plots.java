package dev.safemerge.safeguard;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;

/** The plots of the safeguard report and the dashboard: XChart line and scatter charts, inlined as SVG. */
public final class Plots {
    private Plots() {}

    public static XYChart chart(String title, String x, String y) {
        XYChart chart = new XYChartBuilder()
                .width(460)
                .height(340)
                .title(title)
                .xAxisTitle(x)
                .yAxisTitle(y)
                .build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideSE);
        return chart;
    }

    /** Adds a series of {x, y} points; an empty one is named as empty so that the legend does not mislead. */
    public static XYSeries add(XYChart chart, String name, List<double[]> points) {
        if (points.isEmpty()) {
            // XChart needs a point per series; an empty series is drawn off-range and named as empty
            return chart.addSeries(name + " (none)", new double[] {Double.NaN}, new double[] {Double.NaN});
        }
        double[] xs = points.stream().mapToDouble(p -> p[0]).toArray();
        double[] ys = points.stream().mapToDouble(p -> p[1]).toArray();
        return chart.addSeries(name, xs, ys);
    }

    /** The chart as an inline {@code <svg>} element in a {@code <div>}. */
    public static String svg(XYChart chart) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            VectorGraphicsEncoder.saveVectorGraphic(chart, bytes, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String svg = bytes.toString(StandardCharsets.UTF_8);
        // inline: drop the XML declaration and doctype that precede the element
        return "<div>" + svg.substring(svg.indexOf("<svg")) + "</div>\n";
    }
}
