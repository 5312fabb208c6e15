package io.evocompress.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A line chart as standalone SVG, with no dependency: one or more named series of (x, y) points,
 * axes with ticks, and a legend. Used for fitness per generation and for the level of every layer
 * in a profile. Step series draw each point as a flat segment (levels are discrete).
 */
public final class SvgChart {
    private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
    private static final int WIDTH = 760;
    private static final int HEIGHT = 340;
    private static final int LEFT = 70;
    private static final int RIGHT = 150;
    private static final int TOP = 36;
    private static final int BOTTOM = 50;

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final Map<String, double[][]> series = new LinkedHashMap<>();
    private boolean steps;
    private boolean logY;

    public SvgChart(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    /** Adds a series of points {x, y}. */
    public SvgChart series(String name, double[] xs, double[] ys) {
        double[][] pts = new double[xs.length][];
        for (int i = 0; i < xs.length; i++) {
            pts[i] = new double[] {xs[i], ys[i]};
        }
        series.put(name, pts);
        return this;
    }

    /** Adds a series with x = 0, 1, 2, ... */
    public SvgChart series(String name, double[] ys) {
        double[] xs = new double[ys.length];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = i;
        }
        return series(name, xs, ys);
    }

    /** Draws series as steps (discrete levels per unit). */
    public SvgChart steps() {
        this.steps = true;
        return this;
    }

    /** A logarithmic y axis (all y must be positive). */
    public SvgChart logY() {
        this.logY = true;
        return this;
    }

    public String render() {
        double minX = Double.POSITIVE_INFINITY, maxX = Double.NEGATIVE_INFINITY;
        double minY = Double.POSITIVE_INFINITY, maxY = Double.NEGATIVE_INFINITY;
        for (double[][] pts : series.values()) {
            for (double[] p : pts) {
                minX = Math.min(minX, p[0]);
                maxX = Math.max(maxX, p[0] + (steps ? 1 : 0));
                double y = y(p[1]);
                if (Double.isFinite(y)) {
                    minY = Math.min(minY, y);
                    maxY = Math.max(maxY, y);
                }
            }
        }
        if (!Double.isFinite(minX)) {
            minX = 0;
            maxX = 1;
            minY = 0;
            maxY = 1;
        }
        if (maxX == minX) {
            maxX = minX + 1;
        }
        if (maxY == minY) {
            maxY = minY + 1;
            minY = minY - 1;
        }
        double pad = (maxY - minY) * 0.05;
        minY -= pad;
        maxY += pad;
        int plotW = WIDTH - LEFT - RIGHT;
        int plotH = HEIGHT - TOP - BOTTOM;
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">%n",
            WIDTH, HEIGHT, WIDTH, HEIGHT));
        sb.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"20\" font-size=\"14\" font-weight=\"bold\">%s</text>%n", LEFT, esc(title)));
        sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>%n", LEFT, TOP, plotW, plotH));
        for (int i = 0; i <= 4; i++) {
            double fy = minY + (maxY - minY) * i / 4;
            double py = TOP + plotH - (double) plotH * i / 4;
            sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>%n", LEFT, LEFT + plotW, py, py));
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n", LEFT - 4, py + 4, num(logY ? Math.pow(10, fy) : fy)));
            double fx = minX + (maxX - minX) * i / 4;
            double px = LEFT + (double) plotW * i / 4;
            sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", px, TOP + plotH + 15, num(fx)));
        }
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", LEFT + plotW / 2, HEIGHT - 12, esc(xLabel)));
        sb.append(String.format(Locale.ROOT, "<text x=\"14\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 14 %d)\">%s</text>%n",
            TOP + plotH / 2, TOP + plotH / 2, esc(yLabel + (logY ? " (log)" : ""))));
        int s = 0;
        for (Map.Entry<String, double[][]> e : series.entrySet()) {
            String color = COLORS[s % COLORS.length];
            List<String> points = new ArrayList<>();
            for (double[] p : e.getValue()) {
                double y = y(p[1]);
                if (!Double.isFinite(y)) {
                    continue;
                }
                double py = TOP + plotH - (y - minY) / (maxY - minY) * plotH;
                double px = LEFT + (p[0] - minX) / (maxX - minX) * plotW;
                points.add(String.format(Locale.ROOT, "%.1f,%.1f", px, py));
                if (steps) {
                    double px2 = LEFT + (p[0] + 1 - minX) / (maxX - minX) * plotW;
                    points.add(String.format(Locale.ROOT, "%.1f,%.1f", px2, py));
                }
            }
            sb.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" points=\"%s\"/>%n", color, String.join(" ", points)));
            int ly = TOP + 10 + s * 16;
            sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>%n",
                LEFT + plotW + 10, LEFT + plotW + 28, ly, ly, color));
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>%n", LEFT + plotW + 32, ly + 4, esc(e.getKey())));
            s++;
        }
        sb.append("</svg>\n");
        return sb.toString();
    }

    private double y(double v) {
        return logY ? (v > 0 ? Math.log10(v) : Double.NaN) : v;
    }

    private static String num(double v) {
        if (v != 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) {
            return String.format(Locale.ROOT, "%.2e", v);
        }
        return String.format(Locale.ROOT, "%.4g", v);
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
