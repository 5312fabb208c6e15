package io.evocompress.evopress;

import io.evocompress.EvocompressException;
import io.evocompress.baselines.BlockSimilarity;
import io.evocompress.builddb.BuildDbJob;
import io.evocompress.builddb.LayerTask;
import io.evocompress.calibrate.CalibrationText;
import io.evocompress.candidates.EvaluationTiming;
import io.evocompress.candidates.SparkCandidateEvaluator;
import io.evocompress.config.ResidencySettings;
import io.evocompress.data.TokenSequences;
import io.evocompress.database.DatabaseManifest;
import io.evocompress.database.SparsityGrid;
import io.evocompress.database.VariantDatabase;
import io.evocompress.eval.EvalJob;
import io.evocompress.fitness.CandidateWorker;
import io.evocompress.fitness.DatabaseOpener;
import io.evocompress.fitness.EvaluationSetup;
import io.evocompress.fitness.FitnessKind;
import io.evocompress.fitness.GenomeDecoder;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.ModelConfig;
import io.evocompress.schedule.GridLevels;
import io.evocompress.schedule.LayerError;
import io.evocompress.schedule.ScheduleJob;
import io.evocompress.schedule.ScheduleSettings;
import io.evocompress.schedule.SparsityRange;
import io.evocompress.schedule.SparsitySchedule;
import io.evocompress.search.BitsDomain;
import io.evocompress.search.BruteForceDepth;
import io.evocompress.search.CalibrationPool;
import io.evocompress.search.CandidateEvaluator;
import io.evocompress.search.DepthDomain;
import io.evocompress.search.DomainKind;
import io.evocompress.search.EvolutionarySearch;
import io.evocompress.search.Genome;
import io.evocompress.search.JsonCheckpointStore;
import io.evocompress.search.LinearUnit;
import io.evocompress.search.Minibatch;
import io.evocompress.search.RandomSearchBaseline;
import io.evocompress.search.ScoredGenome;
import io.evocompress.search.SearchDomain;
import io.evocompress.search.SearchMethod;
import io.evocompress.search.SearchPreset;
import io.evocompress.search.SearchProgress;
import io.evocompress.search.SearchResult;
import io.evocompress.search.SelectionCheck;
import io.evocompress.search.SelectionStage;
import io.evocompress.search.SparsityDomain;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * {@code evocompress search}, end to end: the database (built or reused), the EvoPress search (or
 * brute force for depth) with its population checkpointed every generation, the baselines, and the
 * final measurement of the result and every baseline on the same tokens: KL to the dense model on a
 * fixed calibration minibatch and perplexity on the held-out text. {@link #prepare} does every check
 * before Spark starts.
 */
public final class SearchJob {
    static final String STATE_FILE = "state/search-state.json";
    private static final long FINAL_DRAW = 0x5EA4C4F1A1L;

    private SearchJob() {
    }

    /**
     * Everything worked out before any Spark work: the domain, the search, the pools ({@code checkPool}:
     * search.selection-check's second pool, null without the check).
     */
    public record Prepared(SearchSettings settings, ModelConfig config, SearchDomain domain, EvolutionarySearch search,
                           List<int[]> pool, List<int[]> heldout, BuildDbJob.Inputs db, Minibatch finalBatch,
                           Minibatch heldoutBatch, List<int[]> checkPool) {
        public CalibrationPool calibrationPool() {
            return new CalibrationPool(pool.size(), settings.seqLen());
        }

        /** What executors decode candidates with: the domain's own decoder. */
        public GenomeDecoder decoder() {
            return domain.decoder();
        }

        /** The depth domain (block dropping); only for a depth search. */
        public DepthDomain depthDomain() {
            if (domain instanceof DepthDomain d) {
                return d;
            }
            throw new IllegalStateException("not a depth search: " + domain);
        }
    }

    /**
     * The sparsity or bits domain over {@code units} (the database's layers, in its order): the grid's
     * levels per layer, or consecutive widths around the target; fails naming the setting otherwise.
     */
    public static SearchDomain levelDomain(SearchSettings s, List<LinearUnit> units) {
        if (s.domain() == DomainKind.SPARSITY) {
            return SparsityDomain.fromGrid(units, s.buildDb().compressor().grid());
        }
        List<Integer> bits = s.buildDb().compressor().bits();
        int min = bits.stream().min(Integer::compare).orElseThrow();
        int max = bits.stream().max(Integer::compare).orElseThrow();
        if (bits.size() != max - min + 1) {
            throw new EvocompressException("Setting 'database.bits' must be consecutive bit widths for the search "
                + "(a switch moves one bit), but was " + bits);
        }
        if (s.target() < min || s.target() > max) {
            throw new EvocompressException("Setting 'domain.target' (" + s.target() + " bits) is outside what the "
                + "database's levels can reach (database.bits " + bits + "): widen database.bits or change the target.");
        }
        return new BitsDomain(units, s.target(), min, max, s.tie());
    }

    /** A profile and what it measured. */
    public record Measured(String name, Genome genome, double kl, double perplexity) {
    }

    /**
     * The outcome: the search result, every profile measured, and the timing. {@code resultSource} is
     * "search", or under {@code search.init: best} the name of the start profile returned instead because
     * it measured a lower final KL than the search's winner. {@code generationsRun}: the generations this run
     * evolved (after the resume point when resumed; 0 for brute force). {@code selectionCheck}:
     * search.selection-check's counts per stage (empty without the check).
     */
    public record Outcome(Prepared prepared, SearchMethod method, SearchResult search, Measured result, List<Measured> baselines,
                          double densePerplexity, EvaluationTiming timing, DatabaseManifest manifest, double seconds,
                          String resultSource, int generationsRun, List<SelectionCheck.StageTally> selectionCheck,
                          int candidatesPerTask) {
    }

    /**
     * Whether the executors will score streamed, as far as the driver can tell: evaluation.residency when it
     * says, else (auto) the driver's own resolution of the configured device; a device the driver cannot see
     * (device: gpu on a driver without one) counts as resident, so candidates-per-task auto stays at one. Only
     * the task sizes follow from this guess: each executor still decides its own residency, and the scores do
     * not depend on either.
     */
    static boolean streamsOnExecutors(EvaluationSetup setup) {
        if (setup.residency() != io.evocompress.model.Residency.AUTO) {
            return setup.residency() == io.evocompress.model.Residency.STREAMED;
        }
        try {
            return new CandidateWorker(setup, null).streams(null);
        } catch (io.evocompress.EvocompressException driverCannotSeeTheDevice) {
            return false;
        }
    }

    /**
     * The candidates a Spark task scores: {@code configured} (search.candidates-per-task) when set (at least 1);
     * for auto (0), streamed, a generation's candidates (its offspring and the parent) spread evenly over the
     * {@code slots} task slots, one task per slot, so each task's candidates share their prefixes; resident, one
     * (a resident task scores its candidates one at a time, so more per task would only balance worse).
     */
    static int candidatesPerTask(int configured, boolean streamed, int offspring, int slots) {
        if (configured > 0) {
            return configured;
        }
        int slotsAtLeastOne = Math.max(1, slots);
        return streamed ? (offspring + slotsAtLeastOne) / slotsAtLeastOne : 1;   // ceil((offspring + 1) / slots)
    }

    public static Prepared prepare(SearchSettings s, SearchMethod method, boolean resume) {
        ModelConfig config = s.reference().config();
        BuildDbJob.Inputs db = null;
        List<int[]> pool;
        if (s.buildDb() != null) {
            db = BuildDbJob.prepare(s.buildDb(), s.reference());
            pool = db.sequences();
            checkExistingDatabase(s, db);
        } else {
            int[] stream = CalibrationText.tokens(s.reference(), s.calibrationData());
            pool = TokenSequences.sample(stream, s.seqLen(), (long) s.sequences() * s.seqLen(), s.calibrationSeed());
        }
        if (pool.size() < s.sequences()) {
            throw new EvocompressException("The calibration text " + s.calibrationData() + " gives " + pool.size()
                + " sequences of " + s.seqLen() + " tokens, fewer than calibration.sequences = " + s.sequences());
        }
        int[] heldStream = CalibrationText.tokens(s.reference(), s.heldoutData());
        if (s.heldoutMaxTokens() > 0 && heldStream.length > s.heldoutMaxTokens()) {
            heldStream = java.util.Arrays.copyOf(heldStream, (int) s.heldoutMaxTokens());
        }
        List<int[]> heldout = TokenSequences.chunks(heldStream, s.heldoutSeqLen());
        if (heldout.isEmpty()) {
            throw new EvocompressException("The held-out text " + s.heldoutData() + " is too short for one sequence.");
        }

        SearchDomain domain;
        int dropped = 0;
        if (s.domain() == DomainKind.DEPTH) {
            int n = config.numLayers();
            DepthDomain depth = DepthDomain.forSparsity(n, s.target(), s.wholeBlocks())
                .withBlockStem(s.reference().family().blockStem());
            domain = depth;
            dropped = depth.dropped();
            if (method == SearchMethod.BRUTE_FORCE) {
                double count = depth.configurations();
                if (count > BruteForceDepth.DEFAULT_LIMIT) {
                    throw new EvocompressException("--method brute-force would score " + (long) count
                        + " configurations, more than " + BruteForceDepth.DEFAULT_LIMIT + ": use the evolutionary search.");
                }
            }
        } else {
            if (method == SearchMethod.BRUTE_FORCE) {
                throw new EvocompressException("--method brute-force applies to the depth domain only; domain.kind is "
                    + s.domain());
            }
            List<LinearUnit> units = new ArrayList<>();
            for (LayerTask t : db.layers()) {
                long[] shape = t.linear().shape(config);
                units.add(new LinearUnit(t.unit(), shape[0] * shape[1]));
            }
            domain = levelDomain(s, units);
        }
        SearchPreset preset = s.preset(domain, config.numLayers(), dropped);
        CalibrationPool calibration = new CalibrationPool(pool.size(), s.seqLen());
        EvolutionarySearch search = new EvolutionarySearch(domain, preset, calibration, s.seed());
        Minibatch finalBatch = calibration.draw(s.finalTokens(), new SplittableRandom(s.seed() ^ FINAL_DRAW));
        int[] idx = new int[heldout.size()];
        int[] len = new int[heldout.size()];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
            len[i] = heldout.get(i).length;
        }
        List<int[]> checkPool = s.selectionCheck() && method != SearchMethod.BRUTE_FORCE
            ? selectionCheckPool(s, pool, preset.stages()) : null;
        checkOutput(s, resume, ResumeSettings.of(s, method, db == null ? null : db.databaseId()), preset.generations());
        return new Prepared(s, config, domain, search, pool, heldout, db, finalBatch, new Minibatch(idx, len), checkPool);
    }

    /**
     * search.selection-check's second pool: the calibration text's tokens outside every window of the
     * calibration pool (its windows' offsets re-drawn from calibration.seed exactly as the pool was, and
     * checked against it), cut into sequences of calibration.seq-len. So every second minibatch shares
     * no token with any first one. Fails before any work when a stage's tokens do not fit it.
     */
    static List<int[]> selectionCheckPool(SearchSettings s, List<int[]> pool, List<SelectionStage> stages) {
        int[] stream = CalibrationText.tokens(s.reference(), s.calibrationData());
        int[] starts = TokenSequences.offsets(stream.length, s.seqLen(), (long) s.sequences() * s.seqLen(), s.calibrationSeed());
        if (starts.length != pool.size()) {
            throw new IllegalStateException("calibration pool of " + pool.size() + " sequences, " + starts.length + " windows");
        }
        for (int i = 0; i < starts.length; i++) {
            if (!java.util.Arrays.equals(pool.get(i), java.util.Arrays.copyOfRange(stream, starts[i], starts[i] + s.seqLen()))) {
                throw new IllegalStateException("calibration pool sequence " + i + " is not the window at " + starts[i]);
            }
        }
        List<int[]> outside = TokenSequences.outside(stream, s.seqLen(), starts);
        long tokens = (long) outside.size() * s.seqLen();
        for (int i = 0; i < stages.size(); i++) {
            if (stages.get(i).tokens() > tokens) {
                throw new EvocompressException("Setting 'search.selection-check' scores selection stage " + (i + 1) + " ("
                    + stages.get(i) + ") a second time on " + stages.get(i).tokens() + " calibration tokens disjoint from the "
                    + "first minibatch's, but the calibration text " + s.calibrationData() + " holds only " + tokens + " tokens ("
                    + outside.size() + " sequences of " + s.seqLen() + ") outside the calibration pool's " + pool.size()
                    + " windows: use a longer calibration.data, fewer calibration.sequences or stage tokens, or set "
                    + "search.selection-check: false.");
            }
        }
        return outside;
    }

    private static void checkExistingDatabase(SearchSettings s, BuildDbJob.Inputs db) {
        Path root = HadoopFiles.path(s.buildDb().output());
        FileSystem fs = HadoopFiles.fileSystem(root, HadoopFiles.defaultConf());
        if (HadoopFiles.exists(fs, new Path(root, VariantDatabase.MANIFEST))) {
            DatabaseManifest m = VariantDatabase.open(fs, root).manifest();
            if (!m.databaseId().equals(db.databaseId())) {
                boolean otherModel = !m.model().configSha256().equals(db.configSha256());
                boolean otherWeights = !otherModel && !java.util.Objects.equals(m.model().weightsSha256(), db.weightsSha256());
                throw new EvocompressException("database.path " + root + " holds a database built for "
                    + (otherModel ? "another model (" + m.model().location() + ")"
                        : otherWeights ? (m.model().weightsSha256() == null ? "a model whose weights it did not record (built "
                            + "by an older version)" : "other weights of this model (its config.json is the same, its weights "
                            + "are not: a fine-tune or another checkpoint)")
                        : "other calibration data or compressor settings")
                    + " (id " + m.databaseId().substring(0, 12) + ", this search needs " + db.databaseId().substring(0, 12)
                    + "): point database.path elsewhere, or delete it to rebuild.");
            }
        }
    }

    private static void checkOutput(SearchSettings s, boolean resume, ResumeSettings settings, int generations) {
        Path out = HadoopFiles.path(s.output());
        FileSystem fs = HadoopFiles.fileSystem(out, HadoopFiles.defaultConf());
        boolean started = HadoopFiles.exists(fs, new Path(out, STATE_FILE))
            || HadoopFiles.exists(fs, new Path(out, STATE_FILE + ".prev"));
        if (!resume && started) {
            throw new EvocompressException("The output " + out + " already holds a search (" + STATE_FILE
                + "): pass --resume to continue it, or choose another output.");
        }
        if (resume && started) {
            settings.checkResumable(s.output());
            Path state = new Path(out, STATE_FILE);
            int done = new JsonCheckpointStore(fs, state).load().map(io.evocompress.search.SearchState::generation).orElse(0);
            if (done > generations) {
                throw new EvocompressException("--resume: the search in " + out + " has already run " + done
                    + " generations, more than search.generations = " + generations + " asks for: no uninterrupted run "
                    + "of " + generations + " generations gives its state. Set search.generations to " + done
                    + " or more, or use another output.");
            }
        }
    }

    public static Outcome run(JavaSparkContext sc, Prepared p, SearchMethod method, Consumer<String> progress) {
        long start = System.nanoTime();
        SearchSettings s = p.settings();
        DatabaseManifest manifest = null;
        String database = null;
        if (p.db() != null) {
            BuildDbJob.Outcome built = BuildDbJob.run(sc, p.db(), progress);
            manifest = built.manifest();
            database = s.buildDb().output();
            progress.accept(String.format("database %s: %d layers, %s", database, manifest.layers().size(),
                built.reusedWhole() ? "reused" : built.layersBuilt() + " layers built, " + built.layersReused() + " reused"));
        }
        ResidencySettings residency = s.residency();
        EvaluationSetup setup = EvaluationSetup.of(s.model(), database, s.fitness(), s.batchSize())
            .withDevice(s.device(), "auto").withTopK(s.topK())
            .withResidency(residency.residency(), residency.deviceMemory());
        int[][] pool = p.pool().toArray(new int[0][]);
        boolean streams = streamsOnExecutors(setup);
        int perTask = candidatesPerTask(s.candidatesPerTask(), streams, p.search().preset().offspring(), sc.defaultParallelism());
        if (s.candidatesPerTask() == 0) {
            progress.accept(String.format("candidates per task: %d (search.candidates-per-task: auto, %s, %d task slots)",
                perTask, streams ? "streamed" : "resident", sc.defaultParallelism()));
        }
        try (SparkCandidateEvaluator fitness = new SparkCandidateEvaluator(sc, setup, new DatabaseOpener(), p.decoder(), pool,
                 perTask);
             SparkCandidateEvaluator klEval = s.fitness() == FitnessKind.KL ? null : new SparkCandidateEvaluator(sc,
                 setup.withFitness(FitnessKind.KL), new DatabaseOpener(), p.decoder(), pool, perTask);
             SparkCandidateEvaluator pplEval = new SparkCandidateEvaluator(sc, setup.withFitness(FitnessKind.PPL),
                 new DatabaseOpener(), p.decoder(), p.heldout().toArray(new int[0][]), perTask);
             SparkCandidateEvaluator checkEval = p.checkPool() == null ? null : new SparkCandidateEvaluator(sc, setup,
                 new DatabaseOpener(), p.decoder(), p.checkPool().toArray(new int[0][]), perTask)) {
            CandidateEvaluator search = fitness;
            CandidateEvaluator kl = klEval == null ? fitness : klEval;
            CandidateEvaluator ppl = pplEval;

            SearchResult result;
            int generationsRun = 0;
            SelectionCheck check = null;
            Map<String, Genome> known = new LinkedHashMap<>();
            DatabaseManifest built = manifest;
            String databasePath = database;
            if (method == SearchMethod.BRUTE_FORCE) {
                progress.accept(String.format("brute force: %d configurations on %d tokens",
                    (long) p.depthDomain().configurations(), p.finalBatch().tokens()));
                ScoredGenome best = new BruteForceDepth(p.depthDomain(), BruteForceDepth.DEFAULT_LIMIT)
                    .best(search, p.finalBatch());
                result = new SearchResult(best.genome(), best.fitness(), List.of());
            } else {
                Path state = new Path(HadoopFiles.path(s.output()), STATE_FILE);
                JsonCheckpointStore store = new JsonCheckpointStore(HadoopFiles.fileSystem(state, HadoopFiles.defaultConf()), state);
                SearchProgress watch = r -> progress.accept(String.format(
                    "generation %d/%d: best fitness %.6f, %.1f candidates/s, about %s left",
                    r.generation(), r.generations(), r.bestFitness(), r.candidatesPerSecond(), duration(r.secondsLeft())));
                ResumeSettings.of(s, method, p.db() == null ? null : p.db().databaseId()).write(s.output());
                EvolutionarySearch engine = p.search();
                if (s.init().equals("scheduler")) {
                    engine = startFromScheduler(p, manifest, store, search, progress);
                } else if (!s.startNames().isEmpty()) {
                    List<io.evocompress.search.StartCandidate> starts = new ArrayList<>();
                    for (String name : s.startNames()) {
                        starts.add(new io.evocompress.search.StartCandidate(name,
                            known.computeIfAbsent(name, b -> baseline(b, p, built, databasePath, search, progress))));
                    }
                    engine = engine.withStarts(starts);
                }
                if (s.init().equals("profile-file")) {
                    engine = startFromProfileFile(p, progress);
                }
                int resumedAt = store.load().map(io.evocompress.search.SearchState::generation).orElse(0);
                if (checkEval != null) {
                    check = new SelectionCheck(new CalibrationPool(p.checkPool().size(), s.seqLen()), checkEval,
                        engine.preset().stages());
                    engine = engine.withSelectionCheck(check);
                }
                result = engine.run(search, store, startReporting(watch, progress));
                generationsRun = result.history().get(result.history().size() - 1).generation() - resumedAt;
            }

            Map<String, Genome> profiles = new LinkedHashMap<>();
            profiles.put("result", result.best());
            List<String> measure = new ArrayList<>(s.baselines());
            s.startNames().stream().filter(b -> !measure.contains(b)).forEach(measure::add);
            for (String b : measure) {
                if (!known.containsKey(b)) {
                    progress.accept("baseline " + b);
                }
                profiles.put(b, known.computeIfAbsent(b, x -> baseline(x, p, built, databasePath, search, progress)));
            }
            List<Genome> genomes = new ArrayList<>(profiles.values());
            progress.accept(String.format("measuring %d profiles: KL on %d calibration tokens, perplexity on %d held-out tokens",
                genomes.size(), p.finalBatch().tokens(), p.heldoutBatch().tokens()));
            double[] kls = kl.evaluate(genomes, p.finalBatch());
            double[] ppls = ppl.evaluate(genomes, p.heldoutBatch());
            List<Measured> measured = new ArrayList<>();
            int i = 0;
            for (Map.Entry<String, Genome> e : profiles.entrySet()) {
                measured.add(new Measured(e.getKey(), e.getValue(), kls[i], ppls[i]));
                i++;
            }
            double densePpl = densePerplexity(sc, p);
            ResultChoice choice = noWorseThanStarts(measured, s.startNames());
            Measured winner = choice.result();
            String source = choice.source();
            if (!source.equals("search")) {
                progress.accept(String.format("the search's winner (KL %.6f) measured worse than the start '%s' (KL %.6f) on "
                    + "the final %d tokens: returning '%s' as the result (search.init: best)", measured.get(0).kl(), source,
                    winner.kl(), p.finalBatch().tokens(), source));
            }
            List<SelectionCheck.StageTally> tallies = check == null ? List.of() : check.tallies();
            reportSelectionCheck(tallies, progress);
            return new Outcome(p, method, result, winner, measured.subList(1, measured.size()), densePpl,
                fitness.timing(), manifest, (System.nanoTime() - start) / 1e9, source, generationsRun, tallies, perTask);
        }
    }

    private static void reportSelectionCheck(List<SelectionCheck.StageTally> tallies, Consumer<String> progress) {
        if (tallies.isEmpty()) {
            return;
        }
        progress.accept("selection check (each stage's candidates scored again on a disjoint minibatch of the same size; "
            + "wrong: a kept candidate scores worse there than a discarded one):");
        for (SelectionCheck.StageTally t : tallies) {
            progress.accept(String.format("  stage %d (%s): %d decisions, %d kept-vs-discarded choices, %d wrong (%.1f%%); "
                + "the second minibatch's best discarded in %d; %.1f s", t.stage(), t.spec(), t.decisions(), t.choices(),
                t.wrong(), 100 * t.wrongRate(), t.bestMissed(), t.seconds()));
        }
    }

    /** The profile returned as the result, and where it came from: "search" or a start's name. */
    record ResultChoice(Measured result, String source) {
    }

    /**
     * The search's winner (the first of {@code measured}), unless a start it could have taken (one of
     * {@code starts}, measured on the same final tokens) has a lower KL: then that start, renamed
     * "result". Ties keep the search's winner.
     */
    static ResultChoice noWorseThanStarts(List<Measured> measured, List<String> starts) {
        Measured winner = measured.get(0);
        String source = "search";
        for (Measured m : measured.subList(1, measured.size())) {
            if (starts.contains(m.name()) && m.kl() < winner.kl()) {
                winner = new Measured("result", m.genome(), m.kl(), m.perplexity());
                source = m.name();
            }
        }
        return new ResultChoice(winner, source);
    }

    /** The search's progress lines, with one line per start candidate when the search chose among them. */
    private static io.evocompress.search.SearchProgress startReporting(io.evocompress.search.SearchProgress watch,
                                                                       Consumer<String> progress) {
        return new io.evocompress.search.SearchProgress() {
            @Override
            public void onGeneration(Report report) {
                watch.onGeneration(report);
            }

            @Override
            public void onStart(List<io.evocompress.search.StartCandidate> candidates, double[] fitness, long tokens) {
                int best = 0;
                for (int i = 1; i < fitness.length; i++) {
                    best = fitness[i] < fitness[best] ? i : best;
                }
                progress.accept("init: best start on " + tokens + " tokens");
                for (int i = 0; i < fitness.length; i++) {
                    progress.accept(String.format("  %-24s fitness %.6f%s", candidates.get(i).name(), fitness[i],
                        i == best ? "  <- start" : ""));
                }
            }
        };
    }

    /** The EvoPress profile in search.init-file as the first parent. */
    private static EvolutionarySearch startFromProfileFile(Prepared p, Consumer<String> progress) {
        Path f = HadoopFiles.path(p.settings().initFile());
        String text = HadoopFiles.readUtf8(HadoopFiles.fileSystem(f, HadoopFiles.defaultConf()), f,
            "EvoPress profile (search.init-file)");
        Genome start = io.evocompress.search.EvoPressProfile.parse(p.domain(), text, "search.init-file " + f);
        progress.accept("init: profile file " + f + " " + start);
        SearchDomain fixed = new io.evocompress.search.FixedStartDomain(p.domain(), start);
        return new EvolutionarySearch(fixed, p.search().preset(), p.calibrationPool(), p.settings().seed());
    }

    private static EvolutionarySearch startFromScheduler(Prepared p, DatabaseManifest manifest, JsonCheckpointStore store,
                                                         CandidateEvaluator evaluator, Consumer<String> progress) {
        // The scheduler's profile as the first parent (the search engine starts from a fixed genome).
        Genome start = schedulerGenome(p, manifest, progress);
        progress.accept("init: scheduler profile " + start);
        SearchDomain fixed = new io.evocompress.search.FixedStartDomain(p.domain(), start);
        return new EvolutionarySearch(fixed, p.search().preset(), p.calibrationPool(), p.settings().seed());
    }

    /** The layer-wise scheduler's sparsities (level-0 OBS errors relative to each layer's output energy, range target +/- 0.1) as grid levels. */
    static Genome schedulerGenome(Prepared p, DatabaseManifest manifest, Consumer<String> progress) {
        SparsityGrid grid = p.settings().buildDb().compressor().grid();
        List<LayerError> errors = new ArrayList<>();
        List<LayerTask> layers = p.db().layers();
        double[] energy = ScheduleJob.outputEnergies(p.settings().model(), p.settings().buildDb().output(), manifest,
            layers, progress);
        for (int i = 0; i < layers.size(); i++) {
            LayerTask t = layers.get(i);
            var record = manifest.layer(t.unit());
            double relative = record.level(0).error() / energy[i];
            errors.add(new LayerError(t.unit(), record.rows() * record.cols(), t.block(), Math.max(relative, 1e-30)));
        }
        SparsitySchedule schedule = SparsitySchedule.plan(errors, grid.target(),
            SparsityRange.around(grid.target(), 0.2, ScheduleSettings.DEFAULTS.cap()), ScheduleSettings.DEFAULTS);
        return new Genome(schedule.toGridLevels(grid));
    }

    private static Genome baseline(String name, Prepared p, DatabaseManifest manifest, String database, CandidateEvaluator search,
                                   Consumer<String> progress) {
        SearchSettings s = p.settings();
        return switch (name) {
            case "uniform" -> {
                int[] levels = new int[p.domain().units()];
                if (s.domain() == DomainKind.BITS) {
                    java.util.Arrays.fill(levels, (int) s.target());
                }
                yield new Genome(levels);
            }
            case "random" -> new RandomSearchBaseline(p.domain(), s.randomCandidates())
                .best(search, p.calibrationPool(), p.search().preset().initialTokens(), s.seed() + 1).genome();
            case "owl" -> owlGenome(p, database);
            case "scheduler" -> schedulerGenome(p, manifest, progress);
            case "shortgpt" -> shortGptGenome(p);
            default -> throw new IllegalStateException(name);
        };
    }

    /** OWL's block sparsities (from the dense weights and the calibration input norms) on the database's grid. */
    static Genome owlGenome(Prepared p, String database) {
        SearchSettings s = p.settings();
        List<LayerTask> tasks = p.db().layers();
        long[] zeros = OwlProfile.zeros(s.model(), database, tasks, p.config(), s.target(), s.owlLambda(), s.owlM());
        long[] numel = new long[tasks.size()];
        for (int i = 0; i < numel.length; i++) {
            long[] shape = tasks.get(i).linear().shape(p.config());
            numel[i] = shape[0] * shape[1];
        }
        return new Genome(GridLevels.nearest(s.buildDb().compressor().grid(), numel, zeros));
    }

    /**
     * ShortGPT: drop the k blocks whose output is most similar to their input (both halves). The driver streams
     * the dense model one block at a time (the resident similarities bit for bit), never holding it whole.
     */
    static Genome shortGptGenome(Prepared p) {
        DepthDomain domain = p.depthDomain();
        double[] similarity;
        try (io.evocompress.model.StreamedLm model = io.evocompress.model.StreamedLm.open(p.settings().model(),
                io.evocompress.fs.HadoopFiles.defaultConf(), ai.djl.Device.cpu(), ai.djl.ndarray.types.DataType.FLOAT32,
                io.evocompress.model.HostWeightCache.shared())) {
            List<int[]> seqs = new ArrayList<>();
            Minibatch batch = p.finalBatch();
            for (int i = 0; i < batch.sequences().length; i++) {
                seqs.add(java.util.Arrays.copyOf(p.pool().get(batch.sequences()[i]), batch.lengths()[i]));
            }
            similarity = BlockSimilarity.cosine(model, seqs);
        }
        List<Integer> drop = BlockSimilarity.blocksToDrop(similarity, domain.dropped());
        int n = domain.blocks();
        int[] levels = new int[domain.units()];
        for (int b : drop) {
            levels[b] = 1;
            if (!domain.isWholeBlocks()) {
                levels[n + b] = 1;
            }
        }
        return new Genome(levels);
    }

    private static double densePerplexity(JavaSparkContext sc, Prepared p) {
        SearchSettings s = p.settings();
        ResidencySettings r = s.residency();
        var scores = EvalJob.run(sc, p.heldout(), s.model(), null, s.device(), "auto", r.residency(), r.deviceMemory(),
            s.batchSize(), 1, line -> { });
        return Math.exp(scores.nllSum() / scores.nllTokens());
    }

    public static String duration(double seconds) {
        if (!Double.isFinite(seconds)) {
            return "?";
        }
        long t = Math.round(seconds);
        return t >= 3600 ? String.format("%dh%02dm", t / 3600, t % 3600 / 60) : t >= 60 ? String.format("%dm%02ds", t / 60, t % 60)
            : t + "s";
    }
}
