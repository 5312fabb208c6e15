package io.evocompress.schedule;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.builddb.BuildDbJob;
import io.evocompress.builddb.LayerTask;
import io.evocompress.calibrate.CalibrationText;
import io.evocompress.calibrate.DatabaseHessians;
import io.evocompress.calibrate.HessianJob;
import io.evocompress.calibration.Hessian;
import io.evocompress.calibration.InputGroup;
import io.evocompress.candidates.SparkCandidateEvaluator;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.compress.OutputError;
import io.evocompress.config.ResidencySettings;
import io.evocompress.data.TokenSequences;
import io.evocompress.database.DatabaseManifest;
import io.evocompress.database.VariantDatabase;
import io.evocompress.database.VariantStore;
import io.evocompress.eval.EvalJob;
import io.evocompress.evopress.OwlProfile;
import io.evocompress.fitness.DatabaseOpener;
import io.evocompress.fitness.EvaluationSetup;
import io.evocompress.fitness.FitnessKind;
import io.evocompress.fitness.GenomeDecoder;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.ModelConfig;
import io.evocompress.search.CalibrationPool;
import io.evocompress.search.Genome;
import io.evocompress.search.Minibatch;
import io.evocompress.spark.JobProgress;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * {@code evocompress schedule}, end to end (ALGORITHMS.md section 4):
 * <ol>
 *   <li>the variant database is built or reused ({@link BuildDbJob}); its level 0 is SparseGPT at the
 *       target, whose OBS error estimates are the per-layer errors E_l at the probe sparsity, and its
 *       {@code hessians/} hold the calibration Hessians;</li>
 *   <li>on the driver: the schedule(s) ({@link SparsitySchedule#plan}; with {@code range: auto}, one per
 *       candidate width), the uniform profile (the width-0 schedule: the same exact total) and OWL's;</li>
 *   <li>one Spark task per layer ({@link CompressScheduledLayer}) compresses every profile's variant of
 *       the layer from one factorisation of H, with exactly the scheduled zeros, jointly quantized to
 *       4 bits when asked, into {@code OUTPUT/variants/}, a variant database of its own (level 0
 *       uniform, 1 OWL, 2 + i the i-th schedule), which is what makes {@code export} work on the output;</li>
 *   <li>{@code auto}: every candidate scored by KL on the calibration tokens, lowest wins (ties to the
 *       narrower); then the result and both baselines are measured on the same tokens: KL on the
 *       calibration minibatch, perplexity on the held-out text.</li>
 * </ol>
 */
public final class ScheduleJob {
    public static final String VARIANTS = "variants";
    public static final int UNIFORM = 0;
    public static final int OWL = 1;
    public static final int FIRST_SCHEDULE = 2;
    private static final long FINAL_DRAW = 0x5EA4C4F1A1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private ScheduleJob() {
    }

    /** What is worked out before Spark: the database inputs, the pools, the batches. */
    public record Prepared(ScheduleJobSettings settings, BuildDbJob.Inputs db, List<int[]> pool, List<int[]> heldout,
                           Minibatch finalBatch, Minibatch heldoutBatch) {
    }

    /** A profile (per layer its level in the output store, sparsity and zeros) and what it measured. */
    public record Measured(String name, int level, long[] zeros, double kl, double perplexity) {
    }

    /** The outcome of a run. */
    public record Outcome(Prepared prepared, List<LayerTask> layers, long[] parameters, double[] errors,
                          SparsitySchedule schedule, List<RangeChoice.Trial> trials, Measured result, Measured uniform,
                          Measured owl, double densePerplexity, DatabaseManifest database, DatabaseManifest variants,
                          double seconds) {
    }

    public static Prepared prepare(ScheduleJobSettings s) {
        BuildDbJob.Inputs db = BuildDbJob.prepare(s.buildDb(), s.reference());
        List<int[]> pool = db.sequences();
        int[] heldStream = CalibrationText.tokens(s.reference(), s.heldoutData());
        if (s.heldoutMaxTokens() > 0 && heldStream.length > s.heldoutMaxTokens()) {
            heldStream = Arrays.copyOf(heldStream, (int) s.heldoutMaxTokens());
        }
        List<int[]> heldout = TokenSequences.chunks(heldStream, s.heldoutSeqLen());
        if (heldout.isEmpty()) {
            throw new EvocompressException("The held-out text " + s.heldoutData() + " is too short for one sequence.");
        }
        if (pool.size() < s.sequences()) {
            throw new EvocompressException("The calibration text " + s.calibrationData() + " gives " + pool.size()
                + " sequences of " + s.seqLen() + " tokens, fewer than calibration.sequences = " + s.sequences());
        }
        CalibrationPool calibration = new CalibrationPool(pool.size(), s.seqLen());
        Minibatch finalBatch = calibration.draw(s.finalTokens(), new SplittableRandom(FINAL_DRAW));
        int[] idx = new int[heldout.size()];
        int[] len = new int[heldout.size()];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
            len[i] = heldout.get(i).length;
        }
        return new Prepared(s, db, pool, heldout, finalBatch, new Minibatch(idx, len));
    }

    public static Outcome run(JavaSparkContext sc, Prepared p, Consumer<String> progress) {
        long start = System.nanoTime();
        ScheduleJobSettings s = p.settings();
        BuildDbJob.Outcome built = BuildDbJob.run(sc, p.db(), progress);
        DatabaseManifest manifest = built.manifest();
        progress.accept(String.format("database %s: %d layers, %s", s.buildDb().output(), manifest.layers().size(),
            built.reusedWhole() ? "reused" : built.layersBuilt() + " layers built, " + built.layersReused() + " reused"));
        ModelConfig config = p.db().config();
        HessianJob.Index hessians = HessianJob.ensure(sc, s.buildDb(), config.numLayers(), p.db().sequences(),
            p.db().modelSha256(), p.db().tokenIdsSha256(), progress);
        List<LayerTask> layers = p.db().layers();
        int n = layers.size();
        long[] numel = new long[n];
        double[] errors = new double[n];
        double[] energies = s.errorMeasure().equals("relative") ? outputEnergies(s.model(), s.buildDb().output(), manifest, layers, progress) : null;
        List<LayerError> layerErrors = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            LayerTask t = layers.get(i);
            VariantStore.LayerRecord record = manifest.layer(t.unit());
            numel[i] = record.rows() * record.cols();
            errors[i] = record.level(0).error() / switch (s.errorMeasure()) {
                case "per-weight" -> numel[i];
                case "relative" -> energies[i];
                default -> 1;
            };
            layerErrors.add(new LayerError(t.unit(), numel[i], t.block(), errors[i]));
        }

        // the profiles: uniform (width 0), OWL, and the schedule(s)
        SparsitySchedule uniform = SparsitySchedule.plan(layerErrors, s.target(), SparsityRange.around(s.target(), 0,
            s.schedule().cap()), s.schedule());
        List<SparsitySchedule> schedules = new ArrayList<>();
        if (s.autoRange()) {
            for (double w : s.widths()) {
                schedules.add(SparsitySchedule.plan(layerErrors, s.target(), SparsityRange.around(s.target(), w,
                    s.schedule().cap()), s.schedule()));
            }
        } else {
            schedules.add(SparsitySchedule.plan(layerErrors, s.target(), s.range(), s.schedule()));
        }
        long[] owlZeros = owlZeros(p, config, numel);
        List<long[]> profiles = new ArrayList<>();
        profiles.add(zeros(uniform));
        profiles.add(owlZeros);
        schedules.forEach(x -> profiles.add(zeros(x)));
        List<ScheduledLayer> tasks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] levels = new int[profiles.size()];
            long[] z = new long[profiles.size()];
            for (int k = 0; k < levels.length; k++) {
                levels[k] = k;
                z[k] = profiles.get(k)[i];
            }
            tasks.add(new ScheduledLayer(layers.get(i), levels, z));
        }

        // compress every layer at every profile's zeros, one task per layer
        String store = new Path(HadoopFiles.path(s.output()), VARIANTS).toString();
        String storeId = VariantStore.sha256(("evocompress-schedule\n" + manifest.databaseId() + "\n"
            + s.effectiveConfig().toString()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        deleteStore(store);
        List<String> records;
        JobProgress watch = new JobProgress(sc, "compressing " + n + " layers at " + profiles.size() + " profiles"
            + (s.quantized() ? " (SparseGPT + " + s.bits() + "-bit GPTQ)" : " (SparseGPT)"), 2000, progress);
        try (watch) {
            records = sc.parallelize(tasks, n)
                .map(new CompressScheduledLayer(s.buildDb(), new HashMap<>(hessians.checksums()), store, storeId, s.bits(),
                    s.groupSize(), io.evocompress.database.TensorHashes.recorded(manifest.layers())))
                .collect();
        }
        List<VariantStore.LayerRecord> ordered = new ArrayList<>();
        try {
            for (String json : records) {
                ordered.add(JSON.readValue(json, VariantStore.LayerRecord.class));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("A layer task returned an unreadable record", e);
        }
        ObjectNode compressor = JsonNodeFactory.instance.objectNode();
        compressor.put("method", s.quantized() ? "sparsegpt+gptq" : "sparsegpt");
        compressor.put("levels", "0 uniform, 1 owl, 2+i schedule i");
        compressor.put("bits", s.bits());
        compressor.put("group_size", s.groupSize());
        compressor.put("dampening", s.buildDb().compressor().dampening());
        compressor.put("block_size", s.buildDb().compressor().blockSize());
        DatabaseManifest variants = new DatabaseManifest(DatabaseManifest.FORMAT_VERSION, storeId, "schedule",
            manifest.model(), manifest.calibration(), compressor, storeId, ordered, DatabaseManifest.totals(ordered));
        Path storeRoot = HadoopFiles.path(store);
        VariantDatabase.writeManifest(BuildDbJob.outputFileSystem(storeRoot), storeRoot, variants);

        // score: auto range trials, then the result and baselines on the same tokens
        List<String> names = layers.stream().map(LayerTask::unit).toList();
        GenomeDecoder decoder = GenomeDecoder.levels(names);
        // the candidates' tasks keep the model as evaluation.residency says: streamed, one block at a time (or auto)
        ResidencySettings residency = s.buildDb().residency();
        EvaluationSetup setup = EvaluationSetup.of(s.model(), store, FitnessKind.KL, s.batchSize()).withDevice(s.device(), "auto")
            .withResidency(residency.residency(), residency.deviceMemory());
        int[][] pool = p.pool().toArray(new int[0][]);
        try (SparkCandidateEvaluator kl = new SparkCandidateEvaluator(sc, setup, new DatabaseOpener(), decoder, pool);
             SparkCandidateEvaluator ppl = new SparkCandidateEvaluator(sc, setup.withFitness(FitnessKind.PPL),
                 new DatabaseOpener(), decoder, p.heldout().toArray(new int[0][]))) {
            int chosen = FIRST_SCHEDULE;
            List<RangeChoice.Trial> trials = List.of();
            if (s.autoRange()) {
                List<Genome> candidates = new ArrayList<>();
                for (int k = 0; k < schedules.size(); k++) {
                    candidates.add(constant(n, FIRST_SCHEDULE + k));
                }
                progress.accept("range auto: scoring " + candidates.size() + " ranges by KL on " + p.finalBatch().tokens()
                    + " calibration tokens");
                double[] scores = kl.evaluate(candidates, p.finalBatch());
                int[] next = {0};
                RangeChoice.Outcome choice = RangeChoice.choose(layerErrors, s.target(), s.schedule(), s.widths(),
                    x -> scores[next[0]++]);
                trials = choice.trials();
                chosen = FIRST_SCHEDULE + trials.indexOf(choice.best());
                for (RangeChoice.Trial t : trials) {
                    progress.accept(String.format("  width %.3f %s: KL %.6f%s", t.width(), t.range(), t.score(),
                        t == choice.best() ? "  <- chosen" : ""));
                }
            }
            SparsitySchedule schedule = schedules.get(chosen - FIRST_SCHEDULE);
            List<Genome> genomes = List.of(constant(n, chosen), constant(n, UNIFORM), constant(n, OWL));
            progress.accept(String.format("measuring scheduler, uniform and OWL: KL on %d calibration tokens, perplexity on "
                + "%d held-out tokens", p.finalBatch().tokens(), p.heldoutBatch().tokens()));
            double[] kls = kl.evaluate(genomes, p.finalBatch());
            double[] ppls = ppl.evaluate(genomes, p.heldoutBatch());
            if (!s.autoRange() && kls[0] > kls[1]) {
                progress.accept(String.format("warning: the configured scheduler.range %s scores KL %.6f on the %d calibration "
                    + "tokens, worse than uniform (width 0: KL %.6f), which is better: set scheduler.range: auto (the default) "
                    + "to choose the width by calibration KL among %s", s.range(), kls[0], p.finalBatch().tokens(), kls[1],
                    Arrays.toString(s.widths())));
            }
            var dense = EvalJob.run(sc, p.heldout(), s.model(), null, s.device(), "auto", residency.residency(),
                residency.deviceMemory(),
                s.batchSize(), 1, line -> { });
            double densePpl = Math.exp(dense.nllSum() / dense.nllTokens());
            return new Outcome(p, layers, numel, errors, schedule, trials,
                new Measured("scheduler", chosen, zeros(schedule), kls[0], ppls[0]),
                new Measured("uniform", UNIFORM, profiles.get(UNIFORM), kls[1], ppls[1]),
                new Measured("owl", OWL, owlZeros, kls[2], ppls[2]), densePpl, manifest, variants,
                (System.nanoTime() - start) / 1e9);
        }
    }

    private static Genome constant(int units, int level) {
        int[] l = new int[units];
        Arrays.fill(l, level);
        return new Genome(l);
    }

    static long[] zeros(SparsitySchedule schedule) {
        return schedule.units().stream().mapToLong(u -> u.zeros()).toArray();
    }

    private static void deleteStore(String store) {
        Path root = HadoopFiles.path(store);
        FileSystem fs = HadoopFiles.fileSystem(root, HadoopFiles.defaultConf());
        try {
            if (fs.exists(root)) {
                fs.delete(root, true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot replace " + root, e);
        }
    }

    /** OWL's block sparsities (dense weights, calibration input norms), as zeros per layer: round(s_block * numel). */
    static long[] owlZeros(Prepared p, ModelConfig config, long[] numel) {
        ScheduleJobSettings s = p.settings();
        return OwlProfile.zeros(s.model(), s.buildDb().output(), p.db().layers(), config, s.target(), s.owlLambda(), s.owlM());
    }

    /**
     * Each layer's dense output energy under its calibration Hessian, 1/2 sum_r w_r H w_r^T
     * (= ||W X^T||^2 / n), the scale its OBS error is measured on: error / energy is the fraction of
     * the layer's output the probe pruning loses, comparable across layer types. Read from the layer
     * records, where build-db's layer tasks store it ({@link io.evocompress.database.LayerLevels#outputEnergy});
     * only for layers whose records lack it (a database built before energies were recorded) is it
     * computed here on the driver ({@link OutputError#energy}, O(rows * in^2) per layer in Java), with
     * one line to {@code notice} saying so. Clamped below at {@link Double#MIN_NORMAL}.
     */
    public static double[] outputEnergies(String model, String database, DatabaseManifest manifest, List<LayerTask> layers,
                                   Consumer<String> notice) {
        double[] energy = new double[layers.size()];
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < energy.length; i++) {
            Double stored = manifest.layer(layers.get(i).unit()).outputEnergy();
            if (stored == null) {
                missing.add(i);
            } else {
                energy[i] = Math.max(stored, Double.MIN_NORMAL);
            }
        }
        if (missing.isEmpty()) {
            return energy;
        }
        notice.accept("database " + database + " was built before output energies were recorded: computing "
            + missing.size() + " layers' energies on the driver; rebuild the database to skip this");
        DatabaseHessians hessians = new DatabaseHessians(database);
        try (CheckpointReader reader = CheckpointReader.open(model)) {
            Map<String, Hessian> cache = new HashMap<>();
            for (int i : missing) {
                LayerTask t = layers.get(i);
                InputGroup g = InputGroup.of(t.linear());
                Hessian h = cache.computeIfAbsent(t.block() + "/" + g, k -> hessians.read(t.block(), g).hessian());
                energy[i] = Math.max(OutputError.energy(io.evocompress.model.TensorLayout.readUnit(reader, t.unit() + ".weight"), h), Double.MIN_NORMAL);
            }
        }
        return energy;
    }
}
