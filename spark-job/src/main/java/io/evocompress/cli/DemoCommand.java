package io.evocompress.cli;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.config.JobConfig;
import io.evocompress.demo.DemoModel;
import io.evocompress.evopress.SearchJob;
import io.evocompress.evopress.SearchSettings;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.report.SearchReport;
import io.evocompress.search.SearchMethod;
import io.evocompress.spark.SparkContexts;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code evocompress demo}: the whole pipeline on a fresh machine with no input. Generates a
 * language and trains a small Llama on it (reused when already trained), builds the SparseGPT
 * variant database, runs EvoPress at 80% unstructured sparsity (by default) with the fast preset, measures the
 * uniform and OWL baselines on the same tokens, exports the result, and prints a table.
 */
public final class DemoCommand implements Command {
    @Override
    public String name() {
        return "demo";
    }

    @Override
    public String summary() {
        return "the whole pipeline with no input: train a small model, build the database, search, export";
    }

    @Override
    public Set<String> options() {
        return Set.of("out", "train-seconds", "generations", "sparsity", "seed", "threads");
    }

    @Override
    public Set<String> flags() {
        return Set.of("retrain");
    }

    @Override
    public String help() {
        return """
            Usage: evocompress demo [--out DIR] [--train-seconds N] [--generations N] [--sparsity S] [--seed S] [--threads T] [--retrain]

            Runs the whole pipeline on this machine with no input (nothing downloads):
              1. generates a language (a seeded grammar) and trains a small Llama on it for --train-seconds
                 (default 90) on the CPU: DIR/model, with DIR/model/train.txt and heldout.txt;
                 a model already trained there is reused unless --retrain;
              2. builds the SparseGPT variant database for --sparsity (default 0.8): DIR/db;
              3. searches per-layer sparsities with EvoPress (fast preset: 16 offspring, 1@512 then 1@8192 tokens,
                 --generations, default 200), and measures uniform sparsity and OWL on the same tokens: DIR/search
                 (result.json, profile.txt, report.html);
              4. exports the result as a Hugging Face checkpoint: DIR/compressed;
              5. prints KL to the dense model and held-out perplexity for the result and the baselines.

              --out      default target/demo
              --threads  PyTorch CPU threads for training (default: the engine's; 1 is faster on a busy machine)

            Example:
              deploy/evocompress demo
            """;
    }

    @Override
    public ObjectNode run(Args args, Console console) throws Exception {
        Path out = HadoopFiles.path(args.getOr("out", "target/demo"));
        FileSystem fs = HadoopFiles.fileSystem(out, HadoopFiles.defaultConf());
        int trainSeconds = args.intOr("train-seconds", 90);
        int generations = args.intOr("generations", 200);
        double sparsity = Double.parseDouble(args.getOr("sparsity", "0.8"));
        long seed = args.longOr("seed", 0);
        if (trainSeconds < 1 || generations < 1 || !(sparsity > 0 && sparsity < 1)) {
            throw new EvocompressException("--train-seconds and --generations must be positive and --sparsity in (0, 1)");
        }
        Path model = new Path(out, "model");
        if (args.get("threads").isPresent()) {
            Engine.getInstance();
            JniUtils.setNumThreads(args.intOr("threads", 1));
        }

        boolean trained = HadoopFiles.exists(fs, new Path(model, CheckpointReader.CONFIG))
            && HadoopFiles.exists(fs, new Path(model, DemoModel.HELDOUT_TEXT));
        if (!trained || args.flag("retrain")) {
            console.progress("1/5 training a small Llama on a generated language for %d s -> %s", trainSeconds, model);
            // a new model makes the old database and search stale
            for (org.apache.hadoop.fs.FileStatus st : fs.exists(out) ? fs.listStatus(out) : new org.apache.hadoop.fs.FileStatus[0]) {
                if (!st.getPath().getName().equals("model")) {
                    fs.delete(st.getPath(), true);
                }
            }
            long[] last = {0};
            DemoModel.build(fs, model, DemoModel.Settings.defaults(), seed, Long.MAX_VALUE, Duration.ofSeconds(trainSeconds),
                true, step -> {
                    long now = System.nanoTime();
                    if (step.step() == 1 || now - last[0] > 10_000_000_000L) {
                        last[0] = now;
                        console.progress("    step %d  loss %.3f  %.0f tokens/s", step.step(), step.loss(), step.tokensPerSecond());
                    }
                }, line -> console.progress("    %s", line));
        } else {
            console.progress("1/5 reusing the trained model in %s (--retrain to train again)", model);
        }

        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.put("model", model.toString());
        String tag = String.format(Locale.ROOT, "%.2f", sparsity);
        c.put("output", new Path(out, "search-" + tag).toString());
        c.putObject("domain").put("kind", "sparsity").put("target", sparsity);
        c.putObject("calibration").put("data", new Path(model, DemoModel.TRAIN_TEXT).toString())
            .put("sequences", 64).put("seq-len", 256).put("seed", seed).put("shards", 2);
        c.putObject("database").put("path", new Path(out, "db-" + tag).toString());
        c.putObject("heldout").put("data", new Path(model, DemoModel.HELDOUT_TEXT).toString()).put("seq-len", 256)
            .put("max-tokens", 16384);
        c.putObject("search").put("preset", "fast").put("generations", generations).put("seed", seed);
        ArrayNode baselines = c.putArray("baselines");
        baselines.add("uniform").add("owl");
        SearchSettings settings = SearchSettings.from(JobConfig.of(c, "the demo's configuration", List.of()));
        SearchJob.Prepared prepared = SearchJob.prepare(settings, SearchMethod.EVOPRESS, true);
        console.progress("2/5 variant database and 3/5 EvoPress search (%d generations) on Spark %s", generations,
            SparkContexts.DEFAULT_MASTER);
        SearchJob.Outcome outcome;
        try (JavaSparkContext sc = SparkContexts.start("demo", settings.output())) {
            outcome = SearchJob.run(sc, prepared, SearchMethod.EVOPRESS, line -> console.progress("    %s", line));
        }
        SearchReport.write(outcome);

        Path compressed = new Path(out, "compressed-" + tag);
        console.progress("4/5 exporting the result -> %s", compressed);
        ExportCommand export = new ExportCommand();
        export.run(Args.parse("export", new String[] {"--result", settings.output(), "--out", compressed.toString(), "--overwrite"},
            export.options(), export.flags()), new Console("export", System.err));

        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"dense", "0", fmt(outcome.densePerplexity())});
        rows.add(new String[] {"EvoPress " + pct(sparsity), fmt(outcome.result().kl()), fmt(outcome.result().perplexity())});
        outcome.baselines().forEach(b -> rows.add(new String[] {b.name() + " " + pct(sparsity), fmt(b.kl()), fmt(b.perplexity())}));
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "%n%-20s %14s %14s%n", "profile", "KL to dense", "held-out ppl"));
        rows.forEach(r -> table.append(String.format(Locale.ROOT, "%-20s %14s %14s%n", r[0], r[1], r[2])));
        console.progress("5/5 results (KL on %d calibration tokens, perplexity on %d held-out tokens):%s",
            prepared.finalBatch().tokens(), prepared.heldoutBatch().tokens(), table);

        ObjectNode result = Main.newResult(name());
        result.put("model", model.toString());
        result.put("search", settings.output());
        result.put("report", settings.output() + "/report.html");
        result.put("compressed", compressed.toString());
        result.put("dense_perplexity", outcome.densePerplexity());
        result.put("kl_divergence", outcome.result().kl());
        result.put("perplexity", outcome.result().perplexity());
        ObjectNode b = result.putObject("baselines");
        outcome.baselines().forEach(m -> b.putObject(m.name()).put("kl_divergence", m.kl()).put("perplexity", m.perplexity()));
        result.put("seconds", console.elapsedSeconds());
        return result;
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }

    private static String pct(double s) {
        return String.format(Locale.ROOT, "%.0f%%", s * 100);
    }
}
