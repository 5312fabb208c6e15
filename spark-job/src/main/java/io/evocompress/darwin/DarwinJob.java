package io.evocompress.darwin;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.builddb.BuildDbJob;
import io.evocompress.builddb.BuildStructuredUnit;
import io.evocompress.calibrate.CalibrationText;
import io.evocompress.calibrate.HessianJob;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.DType;
import io.evocompress.data.TokenSequences;
import io.evocompress.database.DenseTensorCheck;
import io.evocompress.database.TensorHashes;
import io.evocompress.database.VariantStore;
import io.evocompress.device.DeviceChoice;
import io.evocompress.evopress.ResumeSettings;
import io.evocompress.evopress.SearchJob;
import io.evocompress.fs.AtomicFile;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.metrics.ModelScorer;
import io.evocompress.metrics.SequenceScores;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelLoader;
import io.evocompress.model.TensorLayout;
import io.evocompress.search.CalibrationPool;
import io.evocompress.search.CandidateEvaluator;
import io.evocompress.search.DarwinDomain;
import io.evocompress.search.EvolutionarySearch;
import io.evocompress.search.GenerationFitness;
import io.evocompress.search.Genome;
import io.evocompress.search.JsonCheckpointStore;
import io.evocompress.search.Minibatch;
import io.evocompress.search.SearchPreset;
import io.evocompress.search.SearchResult;
import io.evocompress.search.ScoredGenome;
import io.evocompress.structured.PostTraining;
import io.evocompress.structured.StructureGroup;
import io.evocompress.structured.StructuredDatabase;
import io.evocompress.structured.StructuredGrid;
import io.evocompress.structured.StructuredModel;
import io.evocompress.structured.ZeroPadding;
import io.evocompress.train.AdamW;
import io.evocompress.train.TrainedCheckpoint;
import io.evocompress.train.Trainer;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * DarwinLM end to end (ALGORITHMS.md section 5) on Spark:
 * <ol>
 *   <li>the structured database: the dense model's Hessians ({@link HessianJob}, reused when present),
 *       then one task per (block, group) ({@link BuildStructuredUnit}); units already built for the
 *       same database id and verifying are reused; manifest last. Each unit records the full SHA-256 of the
 *       checkpoint tensor its build read, the manifest those of every other tensor; the candidate tasks and the
 *       driver check the dense model they read against them ({@link DenseTensorCheck});</li>
 *   <li>the search: {@link EvolutionarySearch} over a {@link DarwinDomain} from the uniform genome, with
 *       training-aware selection: every candidate of a stage is one Spark task that fine-tunes it from
 *       its stitched weights on the stage's training tokens and scores KL on the stage's minibatch
 *       ({@link DarwinCandidateTask}); the search state is checkpointed every generation;</li>
 *   <li>post-compression training of the search's finalists ({@code final.candidates}: the winner and the parents
 *       it replaced, latest first) and of the uniform structured model with the same budget and data ({@link PostTraining},
 *       resumable), on the driver; the finalist best on the validation tokens is the search's result, and it is returned
 *       unless the uniform model is better there;</li>
 *   <li>KL to the dense model on the final calibration tokens and held-out perplexity of both, the
 *       export of the winner as a smaller model ({@code model/}) and zero-padded ({@code model-padded/}),
 *       and {@code result.json} in the search command's shape.</li>
 * </ol>
 */
public final class DarwinJob {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * What a rerun may change and still resume: where it writes and runs, how often post-training checkpoints, what
     * the finished models are measured on, and how many finalists are post-trained (each keeps its own post-training
     * state). Everything else (the pool, the search, post-training) is checked.
     */
    static final java.util.Set<String> RESUME_IGNORED = java.util.Set.of("output", "device", "post-training.checkpoint-every",
        "heldout.data", "heldout.seq-len", "heldout.max-tokens", "final.tokens", "final.candidates");

    private static final String SEARCH_STATE = "state/search.json";

    private DarwinJob() {
    }

    public static ObjectNode run(JavaSparkContext sc, DarwinSettings s, Consumer<String> progress) {
        long started = System.nanoTime();
        int[] calibText = CalibrationText.tokens(s.model(), s.calibrationData());
        int validationTokens = (int) s.validationTokens();
        int tailTokens = (int) s.heldoutTailTokens();
        if (calibText.length - validationTokens - tailTokens < s.seqLen()) {
            throw new EvocompressException("The calibration text " + s.calibrationData() + " holds " + calibText.length
                + " tokens: after final.validation-tokens = " + validationTokens + " kept for validation and final.heldout-tokens = "
                + tailTokens + " held out, fewer than one sequence of " + s.seqLen() + " remain. Use more text or lower "
                + "final.validation-tokens or final.heldout-tokens (0 turns either off).");
        }
        // the text's end: [search and training | held-out tail | validation]; neither tail is searched on or trained on
        int[] calibStream = Arrays.copyOf(calibText, calibText.length - validationTokens - tailTokens);
        List<int[]> heldTail = TokenSequences.chunks(Arrays.copyOfRange(calibText, calibStream.length,
            calibStream.length + tailTokens), s.heldoutSeqLen());
        List<int[]> validation = TokenSequences.chunks(Arrays.copyOfRange(calibText, calibStream.length + tailTokens,
            calibText.length), s.seqLen());
        int[] trainStream = s.trainingData().equals(s.calibrationData()) ? calibStream : CalibrationText.tokens(s.model(), s.trainingData());
        List<int[]> pool = TokenSequences.sample(calibStream, s.seqLen(), (long) s.sequences() * s.seqLen(), s.calibrationSeed());
        ModelConfig config;
        String configJson;
        String configSha;
        try (CheckpointReader r = CheckpointReader.open(s.model())) {
            config = ModelLoader.config(r);
            configJson = r.configJson();
            // config.json and the weights: a structured database of other weights is never reused
            configSha = VariantStore.sha256(("config " + VariantStore.sha256(configJson.getBytes(StandardCharsets.UTF_8))
                + "\nweights " + io.evocompress.database.WeightsFingerprint.of(r) + "\n").getBytes(StandardCharsets.UTF_8));
        }
        StructuredGrid grid = s.grid();
        String tokenSha = BuildDbJob.tokenHash(pool);
        String dbId = VariantStore.sha256((configSha + "|" + tokenSha + "|" + s.shards() + "|structured|" + grid.target() + "|"
            + grid.steps()).getBytes(StandardCharsets.UTF_8));
        Path out = HadoopFiles.path(s.output());
        FileSystem fs = HadoopFiles.fileSystem(out, HadoopFiles.defaultConf());
        // a rerun resumes the search (and after it post-training) states: only those of a run with the same settings; a
        // run that failed before its first search checkpoint holds nothing to resume and may be rerun with other settings
        ResumeSettings resume;
        try {
            resume = ResumeSettings.of(JSON.readTree(s.effectiveConfig()), RESUME_IGNORED, "darwin", dbId, "the darwin run");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (HadoopFiles.exists(fs, new Path(out, SEARCH_STATE)) || HadoopFiles.exists(fs, new Path(out, SEARCH_STATE + ".prev"))) {
            resume.checkResumable(s.output());
        }
        resume.write(s.output());
        StructuredDatabase.Manifest manifest = buildDatabase(sc, s, config, pool, configSha, tokenSha, dbId, progress);

        // search
        List<String> names = new ArrayList<>();
        List<List<Integer>> levels = new ArrayList<>();
        for (StructureGroup g : StructureGroup.values()) {
            for (int b = 0; b < config.numLayers(); b++) {
                names.add(StructuredDatabase.unitName(config, b, g));
                levels.add(grid.levels(g, config));
            }
        }
        DarwinDomain domain = new DarwinDomain(names, levels);
        CalibrationPool calibrationPool = new CalibrationPool(pool.size(), s.seqLen());
        SearchPreset preset = new SearchPreset(s.generations(), s.offspring(), s.stages(), 1, s.stages().get(0).tokens());
        EvolutionarySearch search = new EvolutionarySearch(domain, preset, calibrationPool, s.seed());
        CandidateEvaluator evaluator = (candidates, batch) -> evaluate(sc, s, trainStream, pool, candidates, batch);
        progress.accept("search: " + domain + ", " + s.generations() + " generations x " + s.offspring() + " offspring, stages "
            + stageText(s));
        SearchResult result = search.run(evaluator, new JsonCheckpointStore(fs, new Path(out, SEARCH_STATE)),
            r -> progress.accept(String.format("generation %d/%d: fitness %.5f, %.2f candidates/s (trained and scored), about %s left",
                r.generation(), r.generations(), r.bestFitness(), r.candidatesPerSecond(), SearchJob.duration(r.secondsLeft()))));
        Genome uniform = domain.fixedStart().orElseThrow();

        // post-training and measurement on the driver
        Device device = DeviceChoice.resolve(s.device(), null);
        int[] heldStream = CalibrationText.tokens(s.model(), s.heldoutData());
        if (s.heldoutMaxTokens() > 0 && heldStream.length > s.heldoutMaxTokens()) {
            heldStream = Arrays.copyOf(heldStream, (int) s.heldoutMaxTokens());
        }
        List<int[]> heldout = TokenSequences.chunks(heldStream, s.heldoutSeqLen());
        Minibatch finalBatch = calibrationPool.draw(Math.min(s.finalTokens(), calibrationPool.tokens()),
            new java.util.SplittableRandom(s.seed() ^ 0x5DEECE66DL));
        List<int[]> finalSeqs = sequences(pool, finalBatch);
        ObjectNode root = JSON.createObjectNode();
        root.put("command", "darwin");
        root.put("model", s.model());
        root.put("target", s.target());
        root.put("seed", s.seed());
        root.putObject("database").put("path", s.databasePath()).put("id", manifest.databaseId());
        StructuredDatabase db = StructuredDatabase.open(s.databasePath());
        // the dense model read again: each tensor the database recorded a hash for is checked as it is read
        DenseTensorCheck check = DenseTensorCheck.of(db.manifest().tensorSha256(), s.databasePath());
        long prunable = (StructureGroup.ATTENTION.prunableParams(config) + StructureGroup.MLP.prunableParams(config)) * config.numLayers();
        Genome chosenGenome;
        try (CheckpointReader r = CheckpointReader.open(s.model());
             CausalLm dense = ModelLoader.load(r, device, DataType.FLOAT32, check)) {
            Map<String, float[]> denseTensors = new HashMap<>(TensorLayout.readUnits(r, check.reader(r)));
            SequenceScores denseHeld = new ModelScorer(dense, null, 8).score(heldout, null);
            ObjectNode denseNode = root.putObject("dense").put("perplexity", denseHeld.perplexity())
                .put("parameters", config.parameterCount());
            if (!heldTail.isEmpty()) {
                denseNode.put("heldout_tail_perplexity", new ModelScorer(dense, null, 8).score(heldTail, null).perplexity());
            }
            ObjectNode res = root.putObject("result");
            ObjectNode baselines = root.putObject("baselines");
            Finals finals = new Finals(s, fs, out, device, configJson, config, denseTensors::get, db, domain, dense, trainStream,
                finalSeqs, heldout, heldTail, validation, prunable, progress);
            // the search's finalists, each post-trained with the full budget; the best on validation is the search's result
            String metric = s.fitnessIndex() == 1 ? "validation_nll" : "validation_kl_divergence";
            // the uniform start, measured as the baseline below, is not post-trained twice (unless the search returned it)
            List<ScoredGenome> finalists = result.finalists(s.finalCandidates(), uniform);
            ArrayNode finalistsNode = s.finalCandidates() > 1 ? root.putArray("finalists") : null;
            List<Trained> open = new ArrayList<>();
            try {
                Trained searched = null;
                ScoredGenome searchedGenome = null;
                for (int i = 0; i < finalists.size(); i++) {
                    ScoredGenome f = finalists.get(i);
                    ObjectNode node = JSON.createObjectNode();
                    String name = i == 0 ? "result" : "finalist-" + VariantStore.sha256(f.genome().toString()
                        .getBytes(StandardCharsets.UTF_8)).substring(0, 12);
                    Trained t = finals.measure(name, f.genome(), node);
                    open.add(t);
                    node.put("search_fitness", f.fitness());
                    if (finalistsNode != null) {
                        ObjectNode e = finalistsNode.addObject().put("rank", i + 1).put("levels", Arrays.toString(f.genome().levels()));
                        for (String k : List.of("search_fitness", "validation_kl_divergence", "validation_nll", "kl_divergence",
                            "perplexity", "heldout_tail_perplexity")) {
                            if (node.has(k)) {
                                e.set(k, node.get(k));
                            }
                        }
                    }
                    if (searched == null || node.get(metric).asDouble() < res.get(metric).asDouble()) {
                        if (searched != null) {
                            searched.model().close();
                            open.remove(searched);
                        }
                        searched = t;
                        searchedGenome = f;
                        res.removeAll();
                        res.setAll(node);
                        if (finalistsNode != null) {
                            res.put("finalist", i + 1);
                        }
                    } else {
                        t.model().close();
                        open.remove(t);
                    }
                }
                if (finalistsNode != null) {
                    for (com.fasterxml.jackson.databind.JsonNode e : finalistsNode) {
                        ((ObjectNode) e).put("chosen", e.get("rank").asInt() == res.get("finalist").asInt());
                    }
                    progress.accept(String.format("of the search's %d finalists, number %d (1: the winner) is best on the %d "
                        + "validation tokens (%s %.5f)", finalists.size(), res.get("finalist").asInt(),
                        validation.stream().mapToLong(x -> x.length).sum(), metric, res.get(metric).asDouble()));
                }
                Trained uniformTrained = finals.measure("uniform", uniform, baselines.putObject("uniform"));
                open.add(uniformTrained);
                // how far apart the two are, sequence by sequence, on each held-out text (before any choice between them)
                ObjectNode paired = root.putObject("paired_heldout");
                paired.set("heldout_data", pairedDifference(searched.model(), uniformTrained.model(), heldout));
                if (!heldTail.isEmpty()) {
                    paired.set("heldout_tail", pairedDifference(searched.model(), uniformTrained.model(), heldTail));
                }
                // the same discipline as search.init: best: never return a model the uniform one beats on validation, on the
                // metric the search selected by
                String source = "search";
                if (!validation.isEmpty() && baselines.get("uniform").get(metric).asDouble() < res.get(metric).asDouble()) {
                    source = "uniform";
                    progress.accept(String.format("the post-trained search result (%s %.5f) is worse than the post-trained "
                        + "uniform model (%.5f) on the %d validation tokens: returning the uniform model as the result", metric,
                        res.get(metric).asDouble(), baselines.get("uniform").get(metric).asDouble(),
                        validation.stream().mapToLong(x -> x.length).sum()));
                    root.set("search_winner", res.deepCopy());
                    res.removeAll();
                    res.setAll((ObjectNode) baselines.get("uniform").deepCopy());
                }
                res.put("source", source);
                res.put("selection_fitness", searchedGenome.fitness());
                res.remove("search_fitness");
                Trained chosen = source.equals("search") ? searched : uniformTrained;
                chosenGenome = source.equals("search") ? searchedGenome.genome() : uniform;
                export(chosen.model(), chosen.structured().keptNeurons(), chosen.smallJson(), configJson, config, r, fs, out);
            } finally {
                open.forEach(x -> x.model().close());
            }
        }
        root.put("kl_divergence", root.get("result").get("kl_divergence").asDouble());
        ArrayNode gens = root.putArray("generations");
        for (GenerationFitness g : result.history()) {
            gens.addObject().put("generation", g.generation()).put("fitness", g.fitness());
        }
        root.putObject("measured_on").put("kl_calibration_tokens", finalBatch.tokens())
            .put("validation_tokens", validation.stream().mapToLong(x -> x.length).sum())
            .put("heldout_tail_tokens", heldTail.stream().mapToLong(x -> x.length).sum())
            .put("heldout_tokens", heldout.stream().mapToLong(x -> x.length).sum()).put("heldout_data", s.heldoutData());
        root.put("seconds", (System.nanoTime() - started) / 1e9);
        try {
            root.set("settings", JSON.readTree(s.effectiveConfig()));
            AtomicFile.write(fs, new Path(out, "profile.txt"), domain.profile(chosenGenome).getBytes(StandardCharsets.UTF_8));
            AtomicFile.write(fs, new Path(out, "result.json"), JSON.writeValueAsBytes(root));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return root;
    }

    /**
     * The search winner's and the uniform model's next-token loss compared sequence by sequence: the mean over sequences
     * of (winner NLL per token - uniform NLL per token), its standard error (sample standard deviation / sqrt(n)), and
     * the number of sequences. A negative mean is the winner ahead; one within about two standard errors of 0 is a
     * difference these sequences do not resolve.
     */
    static ObjectNode pairedDifference(CausalLm winner, CausalLm uniform, List<int[]> sequences) {
        // a sequence of one token predicts nothing
        double[] d = sequences.stream().filter(x -> x.length >= 2).map(List::of)
            .mapToDouble(one -> new ModelScorer(winner, null, 1).score(one, null).nllPerToken()
                - new ModelScorer(uniform, null, 1).score(one, null).nllPerToken()).toArray();
        double mean = Arrays.stream(d).average().orElse(Double.NaN);
        double var = d.length < 2 ? Double.NaN : Arrays.stream(d).map(x -> (x - mean) * (x - mean)).sum() / (d.length - 1);
        ObjectNode n = JSON.createObjectNode();
        n.put("sequences", d.length);
        n.put("mean_nll_difference", mean);
        n.put("standard_error", Math.sqrt(var / d.length));
        return n;
    }

    /** What measuring a post-trained candidate needs: the dense model, the texts, and where post-training keeps its state. */
    private record Finals(DarwinSettings s, FileSystem fs, Path out, Device device, String configJson, ModelConfig config,
                          java.util.function.Function<String, float[]> denseTensors, StructuredDatabase db, DarwinDomain domain,
                          CausalLm dense, int[] trainStream, List<int[]> finalSeqs, List<int[]> heldout, List<int[]> heldTail,
                          List<int[]> validation, long prunable, Consumer<String> progress) {
        /**
         * Stitches {@code g}, scores it before post-training, post-trains it (resumable under state/post-training-NAME) and
         * fills {@code node} with its KL, perplexities, validation scores, size and profile; the caller closes the model.
         */
        Trained measure(String name, Genome g, ObjectNode node) {
            StructuredModel m = StructuredModel.of(configJson, config, denseTensors, db, domain.attention(g), domain.mlp(g));
            String smallJson = m.smallerConfigJson();
            try (CausalLm before = m.loadSmaller(device, DataType.FLOAT32)) {
                SequenceScores b = new ModelScorer(before, dense, 8).score(finalSeqs, null);
                node.putObject("before_post_training").put("kl_divergence", b.klDivergence())
                    .put("perplexity", new ModelScorer(before, null, 8).score(heldout, null).perplexity());
            }
            PostTraining.Settings post = new PostTraining.Settings(s.postTokens(), s.postObjective(),
                new Trainer.Settings(s.postLearningRate(), 0, 1.0, AdamW.Settings.defaults()), s.postBatchSize(), s.seqLen(),
                s.postCheckpointEvery(), s.seed() + 1);
            CausalLm trained = PostTraining.run(m, smallJson, dense, trainStream, post, fs,
                new Path(out, "state/post-training-" + name), device, progress);
            try {
                SequenceScores kl = new ModelScorer(trained, dense, 8).score(finalSeqs, null);
                SequenceScores held = new ModelScorer(trained, null, 8).score(heldout, null);
                node.put("kl_divergence", kl.klDivergence());
                node.put("perplexity", held.perplexity());
                String tailText = "";
                if (!heldTail.isEmpty()) {
                    double tail = new ModelScorer(trained, null, 8).score(heldTail, null).perplexity();
                    node.put("heldout_tail_perplexity", tail);
                    tailText = String.format(", held-out tail ppl %.3f", tail);
                }
                String validationText = "";
                if (!validation.isEmpty()) {
                    SequenceScores v = new ModelScorer(trained, dense, 8).score(validation, null);
                    node.put("validation_kl_divergence", v.klDivergence());
                    node.put("validation_nll", v.nllPerToken());
                    validationText = String.format(", validation KL %.5f", v.klDivergence());
                }
                node.put("parameters", trained.parameterCount());
                node.put("removed_fraction_of_prunable", (double) (config.parameterCount() - trained.parameterCount()) / prunable);
                node.put("post_training_tokens", post.steps() * post.batchSize() * post.seqLen());
                ObjectNode profile = node.putObject("profile");
                ArrayNode heads = profile.putArray("heads_per_layer");
                ArrayNode inter = profile.putArray("intermediate_per_layer");
                trained.blockShapes().forEach(b -> {
                    heads.add(b.numHeads());
                    inter.add(b.intermediate());
                });
                profile.put("levels", Arrays.toString(g.levels()));
                progress.accept(String.format("%s: KL %.5f, held-out ppl %.3f%s%s, %d parameters", name, kl.klDivergence(),
                    held.perplexity(), tailText, validationText, trained.parameterCount()));
                return new Trained(trained, m, smallJson);
            } catch (RuntimeException e) {
                trained.close();
                throw e;
            }
        }
    }

    /** A post-trained model kept open until the result is chosen and exported. */
    private record Trained(CausalLm model, StructuredModel structured, String smallJson) {
    }

    private static String stageText(DarwinSettings s) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < s.stages().size(); i++) {
            parts.add(s.stages().get(i) + ":" + s.trainingTokens()[i]);
        }
        return String.join(",", parts);
    }

    static List<int[]> sequences(List<int[]> pool, Minibatch batch) {
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < batch.sequences().length; i++) {
            out.add(Arrays.copyOf(pool.get(batch.sequences()[i]), batch.lengths()[i]));
        }
        return out;
    }

    /** One Spark task per candidate; the stage's training sequences are the same for each (seeded by the minibatch). */
    private static double[] evaluate(JavaSparkContext sc, DarwinSettings s, int[] trainStream, List<int[]> pool,
                                     List<Genome> candidates, Minibatch batch) {
        long trainingTokens = s.trainingTokensFor(batch.tokens());
        int[][] training = trainingTokens == 0 ? new int[0][]
            : TokenSequences.sample(trainStream, s.seqLen(), trainingTokens, s.seed() * 31 + batch.hashCode()).toArray(new int[0][]);
        int[][] fitness = sequences(pool, batch).toArray(new int[0][]);
        List<int[]> genomes = candidates.stream().map(Genome::levels).toList();
        List<double[]> scores = sc.parallelize(genomes, genomes.size())
            .map(new DarwinCandidateTask(s.model(), s.databasePath(), s.device(), training, fitness, s.learningRate()))
            .collect();
        return scores.stream().mapToDouble(x -> x[s.fitnessIndex()]).toArray();
    }

    private static StructuredDatabase.Manifest buildDatabase(JavaSparkContext sc, DarwinSettings s, ModelConfig config,
                                                             List<int[]> pool, String configSha, String tokenSha, String dbId,
                                                             Consumer<String> progress) {
        Path root = HadoopFiles.path(s.databasePath());
        FileSystem fs = BuildDbJob.outputFileSystem(root);
        VariantStore store = new VariantStore(fs, root);
        List<String> todo = new ArrayList<>();
        Map<String, StructuredDatabase.Unit> done = new HashMap<>();
        for (int b = 0; b < config.numLayers(); b++) {
            for (StructureGroup g : StructureGroup.values()) {
                StructuredDatabase.Unit u = StructuredDatabase.verifiedUnit(store, StructuredDatabase.unitName(config, b, g), dbId);
                if (u != null) {
                    done.put(b + ":" + g.name(), u);
                } else {
                    todo.add(b + ":" + g.name());
                }
            }
        }
        progress.accept("structured database " + root + ": " + done.size() + " units reused, " + todo.size() + " to build");
        StructuredDatabase.Manifest existing = StructuredDatabase.existingManifest(store, dbId);
        if (existing != null && todo.isEmpty()) {
            // kept as written: its hashes are of the weights it was built from, checked where the dense model is read
            progress.accept("structured database is complete and verifies: reusing it");
            return existing;
        }
        if (!todo.isEmpty()) {
            HessianJob.Index hessians = HessianJob.ensure(sc, s.hessianSettings(), config.numLayers(), pool, configSha, tokenSha,
                progress);
            List<String> built = sc.parallelize(todo, todo.size())
                .map(new BuildStructuredUnit(s.model(), s.databasePath(), s.grid(), dbId, new HashMap<>(hessians.checksums()),
                    s.device()))
                .collect();
            try {
                for (int i = 0; i < todo.size(); i++) {
                    done.put(todo.get(i), new ObjectMapper().readValue(built.get(i), StructuredDatabase.Unit.class));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        List<StructuredDatabase.Unit> units = new ArrayList<>();
        for (int b = 0; b < config.numLayers(); b++) {
            for (StructureGroup g : StructureGroup.values()) {
                units.add(done.get(b + ":" + g.name()));
            }
        }
        // the tensors no unit's build read (embeddings, norms, the other linears, lm_head): hashed whole once, when the
        // manifest is first written (a manifest of this id rewritten after a unit was rebuilt keeps its hashes)
        Map<String, String> others = existing != null ? existing.otherTensorSha256() : null;
        if (others == null) {
            try (CheckpointReader r = CheckpointReader.open(s.model())) {
                others = TensorHashes.unrecorded(r, StructuredDatabase.recorded(units));
            }
        }
        StructuredDatabase.Manifest m = new StructuredDatabase.Manifest(StructuredDatabase.FORMAT_VERSION, dbId, s.model(), configSha,
            tokenSha, s.target(), s.steps(), units, others);
        StructuredDatabase.writeManifest(store, m);
        return m;
    }

    private static void export(CausalLm trained, List<int[]> keptNeurons, String smallJson, String denseJson, ModelConfig config, CheckpointReader dense,
                               FileSystem fs, Path out) {
        TrainedCheckpoint.write(trained, smallJson, fs, new Path(out, "model"), DType.F32, true, dense.fileSystem(), dense.dir());
        Map<String, float[]> smallTensors = new HashMap<>();
        trained.parameters().forEach((k, v) -> smallTensors.put(k, v.toFloatArray()));
        Map<String, float[]> padded = ZeroPadding.pad(config, trained.blockShapes(), keptNeurons, smallTensors::get);
        StructuredModel.write(padded, TensorLayout.of(config), denseJson, fs, new Path(out, "model-padded"), true,
            dense.fileSystem(), dense.dir());
    }
}
