package io.evocompress.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.candidates.EvaluationTiming;
import io.evocompress.evopress.SearchJob;
import io.evocompress.evopress.SearchSettings;
import io.evocompress.fs.AtomicFile;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.plan.SearchForwards;
import io.evocompress.search.BitsDomain;
import io.evocompress.search.GenerationFitness;
import io.evocompress.search.Genome;
import io.evocompress.search.SearchDomain;
import io.evocompress.search.SparsityDomain;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The output directory of a search: {@code result.json} (the result's and every baseline's KL and
 * held-out perplexity, their profiles, the generations, seed and settings), {@code profile.txt}
 * (EvoPress's {@code module: level} form), {@code evopress-profile.txt} (the reference code's format,
 * {@link io.evocompress.search.EvoPressProfile}) and one per baseline under {@code profiles/}, and a report
 * ({@code report.html} with {@code fitness.svg} and {@code levels.svg}). Every file is written under
 * a temporary name and renamed into place; {@code result.json} is written last.
 */
public final class SearchReport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private SearchReport() {
    }

    public static ObjectNode write(SearchJob.Outcome o) {
        SearchJob.Prepared p = o.prepared();
        SearchSettings s = p.settings();
        SearchDomain domain = p.domain();
        io.evocompress.database.SparsityGrid grid = grid(s);
        Path out = HadoopFiles.path(s.output());
        FileSystem fs = HadoopFiles.fileSystem(out, HadoopFiles.defaultConf());

        ObjectNode root = JSON.createObjectNode();
        root.put("command", "search");
        root.put("method", o.method().label());
        root.put("model", s.model());
        root.put("domain", s.domain().label());
        root.put("target", s.target());
        root.put("seed", s.seed());
        root.put("fitness", s.fitness().id());
        if (o.manifest() != null) {
            ObjectNode db = root.putObject("database");
            db.put("path", s.buildDb().output());
            db.put("id", o.manifest().databaseId());
        }
        root.put("init", s.init());
        ObjectNode result = root.putObject("result");
        describe(result, o.result(), domain, grid, o.search().fitness());
        result.put("source", o.resultSource());
        ObjectNode baselines = root.putObject("baselines");
        for (SearchJob.Measured m : o.baselines()) {
            describe(baselines.putObject(m.name()), m, domain, grid, Double.NaN);
        }
        root.putObject("dense").put("perplexity", o.densePerplexity());
        ObjectNode measuredOn = root.putObject("measured_on");
        measuredOn.put("kl_calibration_tokens", p.finalBatch().tokens());
        measuredOn.put("heldout_tokens", p.heldoutBatch().tokens());
        measuredOn.put("heldout_data", s.heldoutData());
        ArrayNode generations = root.putArray("generations");
        for (GenerationFitness g : o.search().history()) {
            generations.addObject().put("generation", g.generation()).put("fitness", g.fitness());
        }
        if (!o.selectionCheck().isEmpty()) {
            ArrayNode check = root.putArray("selection_check");
            for (io.evocompress.search.SelectionCheck.StageTally c : o.selectionCheck()) {
                ObjectNode n = check.addObject().put("stage", c.stage()).put("survivors", c.spec().survivors())
                    .put("tokens", c.spec().tokens()).put("decisions", c.decisions()).put("choices", c.choices())
                    .put("wrong", c.wrong());
                if (c.choices() > 0) {
                    n.put("wrong_rate", c.wrongRate());
                } else {
                    n.putNull("wrong_rate");
                }
                n.put("best_missed", c.bestMissed()).put("seconds", c.seconds());
            }
        }
        EvaluationTiming t = o.timing();
        ObjectNode timing = root.putObject("timing");
        timing.put("seconds", o.seconds());
        timing.put("candidates_scored", t.candidates());
        timing.put("stitch_seconds", t.stitchNanos() / 1e9);
        timing.put("forward_seconds", t.forwardNanos() / 1e9);
        timing.put("metric_seconds", t.metricNanos() / 1e9);
        timing.put("task_seconds", t.taskNanos() / 1e9);
        timing.put("wall_seconds", t.wallNanos() / 1e9);
        timing.put("block_forwards", Math.round(t.blockTokens()));
        timing.put("naive_block_forwards", Math.round(t.naiveBlockTokens()));
        if (o.method() != io.evocompress.search.SearchMethod.BRUTE_FORCE) {
            // brute force's batches are no generations of offspring: nothing to predict them from
            timing.put("predicted_block_forwards",
                Math.round(SearchForwards.predicted(p, t, o.generationsRun(), o.candidatesPerTask())));
        }
        root.set("settings", s.effectiveConfig());

        write(fs, new Path(out, "profile.txt"), domain.profile(o.result().genome()));
        write(fs, new Path(out, io.evocompress.search.EvoPressProfile.FILE),
            io.evocompress.search.EvoPressProfile.format(domain, o.result().genome()));
        for (SearchJob.Measured m : o.baselines()) {
            write(fs, new Path(out, "profiles/" + m.name() + ".txt"), domain.profile(m.genome()));
        }
        writeReport(fs, out, o, root);
        try {
            write(fs, new Path(out, "result.json"), JSON.writeValueAsString(root));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return root;
    }

    private static void describe(ObjectNode node, SearchJob.Measured m, SearchDomain domain, io.evocompress.database.SparsityGrid grid,
                                 double selectionFitness) {
        node.put("kl_divergence", m.kl());
        node.put("perplexity", m.perplexity());
        if (!Double.isNaN(selectionFitness)) {
            node.put("selection_fitness", selectionFitness);
        }
        ObjectNode profile = node.putObject("profile");
        ObjectNode values = node.putObject(valueName(domain));
        double[] v = values(domain, grid, m.genome());
        for (int u = 0; u < domain.units(); u++) {
            profile.put(domain.unitName(u), m.genome().level(u));
            values.put(domain.unitName(u), v[u]);
        }
    }

    /** What a level means per unit: sparsity, bits, or 1 for a dropped block half. */
    static double[] values(SearchDomain domain, io.evocompress.database.SparsityGrid grid, Genome g) {
        double[] v = new double[domain.units()];
        for (int u = 0; u < v.length; u++) {
            v[u] = g.level(u);
        }
        if (domain instanceof SparsityDomain sd && grid != null) {
            for (int u = 0; u < v.length; u++) {
                v[u] = grid.sparsity(sd.linearUnits().get(u).numel(), g.level(u));
            }
        }
        return v;
    }

    private static String valueName(SearchDomain domain) {
        if (domain instanceof SparsityDomain) {
            return "sparsity";
        }
        return domain instanceof BitsDomain ? "bits" : "dropped";
    }

    static io.evocompress.database.SparsityGrid grid(SearchSettings s) {
        return s.buildDb() != null && s.buildDb().compressor().isSparsity() ? s.buildDb().compressor().grid() : null;
    }

    private static void writeReport(FileSystem fs, Path out, SearchJob.Outcome o, ObjectNode root) {
        SearchDomain domain = o.prepared().domain();
        io.evocompress.database.SparsityGrid grid = grid(o.prepared().settings());
        List<GenerationFitness> history = o.search().history();
        double[] gx = new double[history.size()];
        double[] gy = new double[history.size()];
        for (int i = 0; i < gx.length; i++) {
            gx[i] = history.get(i).generation();
            gy[i] = history.get(i).fitness();
        }
        SvgChart fitness = new SvgChart("Fitness of the parent per generation (" + o.prepared().settings().fitness().id()
            + ", final-stage tokens)", "generation", "fitness").series("EvoPress", gx, gy);
        String label = valueName(domain);
        SvgChart levels = new SvgChart("Per-unit " + label + ": result and baselines", "unit (model order)", label).steps();
        levels.series("EvoPress", values(domain, grid, o.result().genome()));
        for (SearchJob.Measured m : o.baselines()) {
            levels.series(m.name(), values(domain, grid, m.genome()));
        }
        write(fs, new Path(out, "fitness.svg"), fitness.render());
        write(fs, new Path(out, "levels.svg"), levels.render());

        List<List<String>> rows = new ArrayList<>();
        rows.add(row("EvoPress (" + o.method() + ")", o.result()));
        for (SearchJob.Measured m : o.baselines()) {
            rows.add(row(m.name(), m));
        }
        rows.add(List.of("dense", "0", fmt(o.densePerplexity())));
        HtmlReport report = new HtmlReport("evocompress search: " + o.prepared().settings().domain() + " "
            + o.prepared().settings().target() + " on " + o.prepared().settings().model())
            .paragraph("KL divergence to the dense model on " + o.prepared().finalBatch().tokens()
                + " calibration tokens; perplexity on " + o.prepared().heldoutBatch().tokens() + " held-out tokens of "
                + o.prepared().settings().heldoutData() + ". Every profile measured the same way.")
            .table(List.of("profile", "KL", "perplexity"), rows)
            .chart(fitness)
            .chart(levels)
            .heading("Profile (module: level)")
            .preformatted(domain.profile(o.result().genome()));
        write(fs, new Path(out, "report.html"), new String(report.render(), StandardCharsets.UTF_8));
    }

    private static List<String> row(String name, SearchJob.Measured m) {
        return List.of(name, fmt(m.kl()), fmt(m.perplexity()));
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }

    private static void write(FileSystem fs, Path file, String text) {
        AtomicFile.write(fs, file, text.getBytes(StandardCharsets.UTF_8));
    }
}
