package io.evocompress.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.fs.AtomicFile;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.schedule.RangeChoice;
import io.evocompress.schedule.ScheduleJob;
import io.evocompress.schedule.ScheduleJobSettings;
import io.evocompress.schedule.SparsitySchedule;
import io.evocompress.schedule.UnitSparsity;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The output directory of {@code schedule}, the same shape as a search's: {@code result.json}
 * (the scheduler's and the uniform and OWL baselines' KL and held-out perplexity on the same tokens;
 * each profile as {@code profile} (layer -> level in {@code variants/}, what {@code export} reads),
 * {@code sparsity} and {@code zeros} per layer; the range and, for {@code auto}, every trial; the
 * per-layer errors and cluster levels), {@code profile.txt} ({@code layer: sparsity}) and one per
 * baseline under {@code profiles/}, {@code report.html} with {@code levels.svg} and
 * {@code errors.svg}. {@code variants/} (written by the job) holds the compressed layers. Every file
 * is written atomically; {@code result.json} last.
 */
public final class ScheduleReport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ScheduleReport() {
    }

    public static ObjectNode write(ScheduleJob.Outcome o) {
        ScheduleJobSettings s = o.prepared().settings();
        Path out = HadoopFiles.path(s.output());
        FileSystem fs = HadoopFiles.fileSystem(out, HadoopFiles.defaultConf());
        SparsitySchedule schedule = o.schedule();

        ObjectNode root = JSON.createObjectNode();
        root.put("command", "schedule");
        root.put("method", "scheduler");
        root.put("model", s.model());
        root.put("domain", "sparsity");
        root.put("target", s.target());
        ObjectNode db = root.putObject("database");
        db.put("path", new Path(out, ScheduleJob.VARIANTS).toString());
        db.put("id", o.variants().databaseId());
        db.put("errors_from", s.buildDb().output());
        db.put("errors_database_id", o.database().databaseId());
        if (s.quantized()) {
            root.putObject("quantization").put("bits", s.bits()).put("group_size", s.groupSize()).put("joint", true);
        }
        ObjectNode sched = root.putObject("scheduler");
        sched.put("clusters", s.schedule().clusters());
        sched.put("levels", schedule.levels());
        sched.put("granularity", s.schedule().granularity().name().toLowerCase(Locale.ROOT));
        sched.put("cap", s.schedule().cap());
        sched.put("error_floor", s.schedule().errorFloor());
        sched.put("error_measure", s.errorMeasure());
        sched.put("range_mode", s.autoRange() ? "auto" : "fixed");
        sched.putArray("range").add(schedule.range().min()).add(schedule.range().max());
        sched.put("shift", schedule.shift());
        ArrayNode trials = sched.putArray("trials");
        for (RangeChoice.Trial t : o.trials()) {
            trials.addObject().put("width", t.width()).put("min", t.range().min()).put("max", t.range().max())
                .put("kl_divergence", t.score()).put("chosen", t.range().equals(schedule.range()));
        }
        ObjectNode totals = root.putObject("totals");
        long params = 0;
        for (long p : o.parameters()) {
            params += p;
        }
        totals.put("parameters", params);
        totals.put("zeros", sum(o.result().zeros()));
        totals.put("mean_sparsity", (double) sum(o.result().zeros()) / params);

        describe(root.putObject("result"), o.result(), o);
        ObjectNode baselines = root.putObject("baselines");
        describe(baselines.putObject("uniform"), o.uniform(), o);
        describe(baselines.putObject("owl"), o.owl(), o);
        ObjectNode layers = root.putObject("layers");
        for (int i = 0; i < o.layers().size(); i++) {
            UnitSparsity u = schedule.units().get(i);
            layers.putObject(u.unit()).put("parameters", u.parameters()).put("block", u.block()).put("error", u.error())
                .put("cluster", u.level()).put("scheduled_sparsity", u.sparsity()).put("zeros", u.zeros());
        }
        root.putObject("dense").put("perplexity", o.densePerplexity());
        ObjectNode measuredOn = root.putObject("measured_on");
        measuredOn.put("kl_calibration_tokens", o.prepared().finalBatch().tokens());
        measuredOn.put("heldout_tokens", o.prepared().heldoutBatch().tokens());
        measuredOn.put("heldout_data", s.heldoutData());
        root.putObject("timing").put("seconds", o.seconds());
        root.set("settings", s.effectiveConfig());

        write(fs, new Path(out, "profile.txt"), profileText(o, o.result()));
        write(fs, new Path(out, "profiles/uniform.txt"), profileText(o, o.uniform()));
        write(fs, new Path(out, "profiles/owl.txt"), profileText(o, o.owl()));
        writeReport(fs, out, o);
        try {
            write(fs, new Path(out, "result.json"), JSON.writeValueAsString(root));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return root;
    }

    private static void describe(ObjectNode node, ScheduleJob.Measured m, ScheduleJob.Outcome o) {
        node.put("kl_divergence", m.kl());
        node.put("perplexity", m.perplexity());
        node.put("mean_sparsity", (double) sum(m.zeros()) / sum(o.parameters()));
        ObjectNode profile = node.putObject("profile");
        ObjectNode sparsity = node.putObject("sparsity");
        ObjectNode zeros = node.putObject("zeros");
        for (int i = 0; i < o.layers().size(); i++) {
            String unit = o.layers().get(i).unit();
            profile.put(unit, m.level());
            sparsity.put(unit, (double) m.zeros()[i] / o.parameters()[i]);
            zeros.put(unit, m.zeros()[i]);
        }
    }

    private static String profileText(ScheduleJob.Outcome o, ScheduleJob.Measured m) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < o.layers().size(); i++) {
            b.append(o.layers().get(i).unit()).append(": ")
                .append(String.format(Locale.ROOT, "%.6f", (double) m.zeros()[i] / o.parameters()[i])).append('\n');
        }
        return b.toString();
    }

    private static void writeReport(FileSystem fs, Path out, ScheduleJob.Outcome o) {
        ScheduleJobSettings s = o.prepared().settings();
        int n = o.layers().size();
        double[] log10 = new double[n];
        for (int i = 0; i < n; i++) {
            log10[i] = Math.log10(Math.max(o.errors()[i], 1e-30));
        }
        SvgChart levels = new SvgChart("Per-layer sparsity: scheduler and baselines", "layer (model order)", "sparsity").steps();
        levels.series("scheduler", fractions(o, o.result()));
        levels.series("uniform", fractions(o, o.uniform()));
        levels.series("owl", fractions(o, o.owl()));
        SvgChart errors = new SvgChart("SparseGPT error estimate at the target (log10)", "layer (model order)",
            "log10 error").steps().series("log10 E", log10);
        write(fs, new Path(out, "levels.svg"), levels.render());
        write(fs, new Path(out, "errors.svg"), errors.render());
        List<List<String>> rows = new ArrayList<>();
        for (ScheduleJob.Measured m : List.of(o.result(), o.uniform(), o.owl())) {
            rows.add(List.of(m.name(), fmt(m.kl()), fmt(m.perplexity())));
        }
        rows.add(List.of("dense", "0", fmt(o.densePerplexity())));
        HtmlReport report = new HtmlReport("evocompress schedule: sparsity " + s.target()
            + (s.quantized() ? " + " + s.bits() + "-bit" : "") + " on " + s.model())
            .paragraph("Range " + o.schedule().range() + (s.autoRange() ? " (chosen by calibration KL)" : "") + ", "
                + o.schedule().levels() + " levels, granularity " + s.schedule().granularity().name().toLowerCase(Locale.ROOT)
                + ". KL divergence to the dense model on " + o.prepared().finalBatch().tokens()
                + " calibration tokens; perplexity on " + o.prepared().heldoutBatch().tokens() + " held-out tokens of "
                + s.heldoutData() + ". Every profile measured the same way, with the same compressor.")
            .table(List.of("profile", "KL", "perplexity"), rows);
        if (!o.trials().isEmpty()) {
            List<List<String>> t = new ArrayList<>();
            for (RangeChoice.Trial trial : o.trials()) {
                t.add(List.of(fmt(trial.width()), trial.range().toString(), fmt(trial.score())));
            }
            report.heading("range: auto trials").table(List.of("width", "range", "calibration KL"), t);
        }
        report.chart(levels).chart(errors).heading("Profile (layer: sparsity)").preformatted(profileText(o, o.result()));
        write(fs, new Path(out, "report.html"), new String(report.render(), StandardCharsets.UTF_8));
    }

    private static double[] fractions(ScheduleJob.Outcome o, ScheduleJob.Measured m) {
        double[] v = new double[m.zeros().length];
        for (int i = 0; i < v.length; i++) {
            v[i] = (double) m.zeros()[i] / o.parameters()[i];
        }
        return v;
    }

    private static long sum(long[] v) {
        long t = 0;
        for (long x : v) {
            t += x;
        }
        return t;
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }

    private static void write(FileSystem fs, Path file, String text) {
        AtomicFile.write(fs, file, text.getBytes(StandardCharsets.UTF_8));
    }
}
