package io.evocompress.plan;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.builddb.BuildDbSettings;
import io.evocompress.builddb.LayerTaskMemory;
import io.evocompress.calibration.InputGroup;
import io.evocompress.config.JobConfig;
import io.evocompress.config.ModelConfigReader;
import io.evocompress.darwin.DarwinSettings;
import io.evocompress.database.DatabaseManifest;
import io.evocompress.database.VariantDatabase;
import io.evocompress.evopress.SearchJob;
import io.evocompress.evopress.SearchSettings;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.Architecture;
import io.evocompress.model.ArchitectureRegistry;
import io.evocompress.model.LinearName;
import io.evocompress.model.ModelConfig;
import io.evocompress.schedule.ScheduleJobSettings;
import io.evocompress.search.CalibrationPool;
import io.evocompress.search.DarwinDomain;
import io.evocompress.search.DepthDomain;
import io.evocompress.search.DomainKind;
import io.evocompress.search.EvolutionarySearch;
import io.evocompress.search.LinearUnit;
import io.evocompress.search.SearchDomain;
import io.evocompress.search.SearchPreset;
import io.evocompress.search.SelectionStage;
import io.evocompress.structured.StructureGroup;
import io.evocompress.structured.StructuredGrid;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code evocompress plan}: what a build-db, search, schedule or darwin configuration will need,
 * before any work and from the model's config.json alone (and the database's manifest when it
 * exists). The configuration is read by the planned command's own settings class (every check it
 * makes, except those needing the tensors or the text); {@code plan.*} are {@link PlanSettings}.
 *
 * <p>Hours per stage are a roofline over the stage's totals, max(FLOPs / plan.device-flops, bytes /
 * plan.device-bandwidth): calibration (the dense forward over the calibration tokens plus the
 * Hessians' X^T X, 2 n^2 FLOPs per token and input), the database (per block and input one n^3
 * factorisation, per layer and level 2 rows n^2 for the OBS updates), the search (generation 0, the
 * generations' block forwards and LM heads, the final measurement of the result, its starts and
 * baselines on final.tokens), DarwinLM's training (3 forwards' FLOPs per trained token) and
 * post-training. Held-out perplexity (its text is not read) is not counted.
 */
public final class Planner {
    public static final Set<String> COMMANDS = Set.of("build-db", "search", "schedule", "darwin");

    private Planner() {
    }

    /** The command a configuration is for, from its settings; {@code given} (non-null) wins. */
    public static String command(JobConfig c, String given) {
        if (given != null) {
            if (!COMMANDS.contains(given)) {
                throw new EvocompressException("plan plans " + COMMANDS + " configurations, not '" + given + "'.");
            }
            return given;
        }
        if (c.has("domain.kind")) {
            return "search";
        }
        if (c.has("scheduler") || c.has("target") || c.has("quantization")) {
            return "schedule";
        }
        if (c.has("post-training") || c.has("database.steps") || c.has("search.learning-rate") || c.has("training")) {
            return "darwin";
        }
        if (c.has("database.domain") || c.has("database.target") || c.has("database.bits") || c.has("output")
            && !c.has("search") && !c.has("heldout")) {
            return "build-db";
        }
        throw new EvocompressException("Cannot tell which command " + c.source() + " configures (build-db, search, schedule "
            + "or darwin): name it with --command.");
    }

    public static ObjectNode plan(JobConfig full, String command) {
        PlanSettings p = PlanSettings.from(full);
        ObjectNode tree = full.tree();
        tree.remove("plan");
        JobConfig c = JobConfig.of(tree, full.source(), List.of());
        String kind = command(c, command);
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        out.put("plans", kind);
        switch (kind) {
            case "build-db" -> buildDb(BuildDbSettings.from(c, ModelConfigReader.CONFIG_JSON), p, out);
            case "search" -> search(SearchSettings.from(c, ModelConfigReader.CONFIG_JSON), p, out);
            case "schedule" -> schedule(ScheduleJobSettings.from(c, ModelConfigReader.CONFIG_JSON), p, out);
            default -> darwin(DarwinSettings.from(c, ModelConfigReader.CONFIG_JSON), p, out);
        }
        return out;
    }

    private static ModelFootprint model(String location, PlanSettings p, ObjectNode out) {
        ModelConfig config = ModelConfigReader.CONFIG_JSON.read(location).config();
        ModelFootprint m = ModelFootprint.of(config);
        out.put("model", location);
        out.put("model_type", config.modelType());
        out.put("blocks", config.numLayers());
        out.put("hidden_size", config.hiddenSize());
        out.put("parameters", m.parameters());
        out.put("dtype", p.dtype());
        out.put("model_bytes", m.parameters() * p.dtypeBytes());
        // embeddings, heads and learned positions load in row slices (model.RowSlices); a block's tensors are
        // read whole by build-db's layer tasks (and fused ones by every path) into one Java array and one read
        // buffer of at most 2 GiB (SafetensorsFile)
        long largestWhole = largestBlockTensor(config);
        long largestBytes = largestWhole * p.dtypeBytes();
        if (largestWhole > Integer.MAX_VALUE - 8 || largestBytes > Integer.MAX_VALUE - 8) {
            out.put("unsupported", String.format(java.util.Locale.ROOT, "the largest block tensor (%,d values, %,d bytes "
                + "in %s) is read whole by build-db's layer tasks into one Java array, which holds at most 2^31 - 9 "
                + "values and 2 GiB: this model's database cannot be built yet", largestWhole, largestBytes, p.dtype()));
        }
        return m;
    }

    /** The elements of the largest tensor inside a decoder block, in the checkpoint's layout (a fused one whole). */
    private static long largestBlockTensor(ModelConfig config) {
        Architecture arch = ArchitectureRegistry.forType(config.modelType(), "config.json");
        java.util.List<String> prefixes = new java.util.ArrayList<>();
        for (int b = 0; b < config.numLayers(); b++) {
            prefixes.add(arch.blockPrefix(b));
        }
        long largest = 0;
        for (java.util.Map.Entry<String, long[]> e : io.evocompress.model.TensorLayout.of(config).shapes().entrySet()) {
            if (prefixes.stream().anyMatch(e.getKey()::startsWith)) {
                long n = 1;
                for (long d : e.getValue()) {
                    n *= d;
                }
                largest = Math.max(largest, n);
            }
        }
        return largest;
    }

    private static DatabaseSize database(ModelFootprint m, BuildDbSettings s, String location, ObjectNode out) {
        DatabaseManifest manifest = manifest(location);
        DatabaseSize size = manifest == null ? DatabaseSize.of(m.config(), s) : DatabaseSize.of(m.config(), s, manifest);
        putDatabase(size, out);
        LayerTaskMemory task = DatabaseSize.layerTask(m.config(), s.hessianFloat32(), s.compressor().actOrder());
        out.put("layer_task_heap_bytes", task.heapBytes());
        out.put("layer_task_engine_bytes", task.engineBytes());
        out.put("layer_task", task.describe());
        return size;
    }

    private static void putDatabase(DatabaseSize size, ObjectNode out) {
        out.put("database_bytes", size.totalBytes());
        out.put("database_variant_bytes", size.variantBytes());
        out.put("database_hessian_bytes", size.hessianBytes());
        out.put("database_record_bytes", size.recordBytes());
        out.put("database_variants", size.variants());
        out.put("database_bytes_from", size.fromManifest() ? "manifest (variants), config.json (the rest)" : "config.json");
    }

    /** The finished database's manifest at {@code location}, or null when there is none yet. */
    private static DatabaseManifest manifest(String location) {
        Path root = HadoopFiles.path(location);
        FileSystem fs = HadoopFiles.fileSystem(root, HadoopFiles.defaultConf());
        if (!HadoopFiles.exists(fs, new Path(root, VariantDatabase.MANIFEST))) {
            return null;
        }
        return VariantDatabase.open(fs, root).manifest();
    }

    private static void buildDb(BuildDbSettings s, PlanSettings p, ObjectNode out) {
        ModelFootprint m = model(s.model(), p, out);
        DatabaseSize size = database(m, s, s.output(), out);
        Hours h = new Hours(p);
        h.calibration = size.fromManifest() ? Stage.NONE : calibration(m, s);
        h.database = size.fromManifest() ? Stage.NONE : databaseBuild(m, s, size);
        h.put(out);
    }

    private static void search(SearchSettings s, PlanSettings p, ObjectNode out) {
        ModelFootprint m = model(s.model(), p, out);
        ModelConfig config = m.config();
        Architecture arch = ArchitectureRegistry.forType(config.modelType(), s.model());
        Hours h = new Hours(p);
        SearchDomain domain;
        PrefixSharing.Layout layout;
        int dropped = 0;
        if (s.domain() == DomainKind.DEPTH) {
            DepthDomain d = DepthDomain.forSparsity(config.numLayers(), s.target(), s.wholeBlocks());
            dropped = d.dropped();
            domain = d;
            layout = PrefixSharing.depth(config.numLayers(), s.wholeBlocks());
            out.put("database_bytes", 0);
        } else {
            DatabaseSize size = database(m, s.buildDb(), s.buildDb().output(), out);
            if (!size.fromManifest()) {
                h.calibration = calibration(m, s.buildDb());
                h.database = databaseBuild(m, s.buildDb(), size);
            }
            List<LinearUnit> units = new ArrayList<>();
            List<Integer> halves = new ArrayList<>();
            for (int b = 0; b < config.numLayers(); b++) {
                for (LinearName n : arch.linears(config)) {
                    long[] shape = n.shape(config);
                    units.add(new LinearUnit(arch.unitName(b, n), shape[0] * shape[1]));
                    halves.add(2 * b + (n.isAttention() ? 0 : 1));
                }
            }
            domain = SearchJob.levelDomain(s, units);
            layout = PrefixSharing.levels(config.numLayers(), halves.stream().mapToInt(Integer::intValue).toArray());
        }
        SearchPreset preset = s.preset(domain, config.numLayers(), dropped);
        EvolutionarySearch engine = new EvolutionarySearch(domain, preset, new CalibrationPool(s.sequences(), s.seqLen()),
            s.seed()); // the search's own checks of the stages against the pool and the offspring
        PrefixSharing sharing = PrefixSharing.predict(domain, layout, preset, p.samples(), p.seed());
        long teacher = TaskMemory.teacherBytes(config, s.fitness().id(), (long) s.sequences() * s.seqLen(), s.topK(),
            s.sequences());
        double variants = s.domain() == DomainKind.DEPTH ? 0 : sharing.variantsAtBlock(); // dropping needs no variants
        putMemory(TaskMemory.of(m, p.dtypeBytes(), s.batchSize(), s.seqLen(), teacher, variants, liveTokens(preset)), out);
        putGenerations(preset.generations(), preset.offspring(), preset.stages(), sharing, out);
        int initial = engine.initialEvaluations() + s.startNames().size();
        int finals = 1 + s.baselines().size() + s.startNames().size();
        h.search = searchStage(m, p, s.batchSize(), s.seqLen(), preset, sharing, true)
            .plus(forwards(m, p, s.batchSize(), s.seqLen(), (double) initial * preset.initialTokens()));
        h.searchNaive = searchStage(m, p, s.batchSize(), s.seqLen(), preset, sharing, false)
            .plus(forwards(m, p, s.batchSize(), s.seqLen(), (double) initial * preset.initialTokens()));
        h.finals = forwards(m, p, s.batchSize(), s.seqLen(), (double) finals * s.finalTokens());
        h.put(out);
    }

    private static void schedule(ScheduleJobSettings s, PlanSettings p, ObjectNode out) {
        ModelFootprint m = model(s.model(), p, out);
        DatabaseSize size = database(m, s.buildDb(), s.buildDb().output(), out);
        long teacher = TaskMemory.teacherBytes(m.config(), "kl", (long) s.sequences() * s.seqLen(), 0, s.sequences());
        putMemory(TaskMemory.of(m, p.dtypeBytes(), s.batchSize(), s.seqLen(), teacher, 0,
            (long) s.batchSize() * s.seqLen()), out);
        Hours h = new Hours(p);
        if (!size.fromManifest()) {
            h.calibration = calibration(m, s.buildDb());
            h.database = databaseBuild(m, s.buildDb(), size);
        }
        int trials = s.autoRange() ? s.widths().length : 1;
        h.finals = forwards(m, p, s.batchSize(), s.seqLen(), (trials + 3.0) * s.finalTokens()); // range trials, result, uniform, OWL
        h.put(out);
    }

    private static void darwin(DarwinSettings s, PlanSettings p, ObjectNode out) {
        ModelFootprint m = model(s.model(), p, out);
        ModelConfig config = m.config();
        StructuredGrid grid = s.grid();
        DatabaseSize size = DatabaseSize.structured(config, grid);
        putDatabase(size, out);
        LayerTaskMemory task = DatabaseSize.layerTask(config, false, false);
        out.put("layer_task_heap_bytes", task.heapBytes());
        out.put("layer_task_engine_bytes", task.engineBytes());
        out.put("layer_task", task.describe());
        List<String> names = new ArrayList<>();
        List<List<Integer>> levels = new ArrayList<>();
        int[] halves = new int[2 * config.numLayers()];
        for (StructureGroup g : StructureGroup.values()) {
            for (int b = 0; b < config.numLayers(); b++) {
                names.add("block " + b + " " + g.key());
                levels.add(grid.levels(g, config));
                halves[names.size() - 1] = 2 * b + (g == StructureGroup.ATTENTION ? 0 : 1);
            }
        }
        SearchDomain domain = new DarwinDomain(names, levels);
        SearchPreset preset = new SearchPreset(s.generations(), s.offspring(), s.stages(), 1, s.stages().get(0).tokens());
        PrefixSharing predicted = PrefixSharing.predict(domain, PrefixSharing.levels(config.numLayers(), halves), preset,
            p.samples(), p.seed());
        // every candidate is fine-tuned before it is scored, so its weights are its own: nothing is shared
        PrefixSharing sharing = new PrefixSharing(predicted.naive(), predicted.naive(), predicted.perStage().stream()
            .map(st -> new double[] {st[1], st[1], st[2]}).toList(), predicted.variantsAtBlock());
        putMemory(TaskMemory.of(m, p.dtypeBytes(), s.batchSize(), s.seqLen(), 0, 0, (long) s.batchSize() * s.seqLen()), out);
        putGenerations(s.generations(), s.offspring(), s.stages(), sharing, out);
        out.put("block_forwards_note", "DarwinLM fine-tunes every candidate before scoring it: no prefix is shared");
        out.put("memory_note", "the fine-tuning's gradients and optimizer state are not counted in the task memory");
        Hours h = new Hours(p);
        BuildDbSettings hessians = s.hessianSettings();
        h.calibration = calibration(m, hessians);
        h.database = structuredBuild(m, grid);
        Stage search = Stage.NONE;
        for (int i = 0; i < s.stages().size(); i++) {
            double candidates = sharing.perStage().get(i)[2];
            search = search.plus(forwards(m, p, s.batchSize(), s.seqLen(),
                candidates * (s.stages().get(i).tokens() + 3.0 * s.trainingTokens()[i])));
        }
        h.search = search.times(s.generations());
        h.searchNaive = h.search;
        // the finalists and the uniform model: each post-trained (3 forwards per token) and scored
        double postTrained = s.finalCandidates() + 1.0;
        h.finals = forwards(m, p, s.postBatchSize(), s.seqLen(), postTrained * (3.0 * s.postTokens() + s.finalTokens()));
        h.put(out);
    }

    /**
     * The tokens of the hidden states a streamed task holds at once when one task scores a whole stage: the
     * most, over the stages, of (the stage's candidates plus the parent) x the stage's tokens.
     */
    static long liveTokens(SearchPreset preset) {
        long most = 0;
        int candidates = preset.offspring();
        for (SelectionStage st : preset.stages()) {
            most = Math.max(most, (candidates + 1L) * st.tokens());
            candidates = st.survivors();
        }
        return most;
    }

    private static void putMemory(TaskMemory t, ObjectNode out) {
        out.put("activation_bytes", t.activations());
        out.put("resident_device_bytes", t.residentDevice());
        out.put("resident_host_bytes", t.residentHost());
        out.put("streamed_device_bytes", t.streamedDevice());
        out.put("streamed_host_bytes", t.streamedHost());
        out.put("teacher_bytes", t.teacherHost());
    }

    private static void putGenerations(int generations, int offspring, List<SelectionStage> stages, PrefixSharing sharing,
                                       ObjectNode out) {
        out.put("generations", generations);
        out.put("offspring", offspring);
        out.put("stages", String.join(",", stages.stream().map(SelectionStage::toString).toList()));
        out.put("block_forwards_per_generation", Math.round(sharing.shared()));
        out.put("naive_block_forwards_per_generation", Math.round(sharing.naive()));
        out.put("block_forwards_ratio", Math.round(sharing.ratio() * 10000) / 10000.0);
        ArrayNode per = out.putArray("per_stage");
        for (int i = 0; i < stages.size(); i++) {
            double[] st = sharing.perStage().get(i);
            ObjectNode o = per.addObject();
            o.put("stage", stages.get(i).toString());
            o.put("candidates", Math.round(st[2] * 100) / 100.0);
            o.put("block_forwards", Math.round(st[0]));
            o.put("naive_block_forwards", Math.round(st[1]));
        }
    }

    /** FLOPs and bytes moved of one stage. */
    record Stage(double flops, double bytes) {
        static final Stage NONE = new Stage(0, 0);

        Stage plus(Stage o) {
            return new Stage(flops + o.flops, bytes + o.bytes);
        }

        Stage times(double k) {
            return new Stage(flops * k, bytes * k);
        }

        double hours(PlanSettings p) {
            return Math.max(flops / p.deviceFlops(), bytes / p.deviceBandwidth()) / 3600;
        }
    }

    /** Full forwards over {@code tokens} tokens: every block and the head, the weights read once per batch. */
    static Stage forwards(ModelFootprint m, PlanSettings p, int batch, int seqLen, double tokens) {
        double flops = tokens * (m.blocks() * m.blockFlopsPerToken(seqLen) + m.headFlopsPerToken());
        double batches = Math.ceil(tokens / ((double) batch * seqLen));
        return new Stage(flops, batches * m.parameters() * p.dtypeBytes());
    }

    /**
     * One generation's block forwards (shared or naive) and every candidate's head, times the
     * generations; weights read once per stage batch for each distinct prefix (shared) or candidate.
     */
    static Stage searchStage(ModelFootprint m, PlanSettings p, int batch, int seqLen, SearchPreset preset, PrefixSharing s,
                             boolean shared) {
        double flops = 0;
        double bytes = 0;
        for (int i = 0; i < preset.stages().size(); i++) {
            double[] st = s.perStage().get(i);
            double blockTokens = shared ? st[0] : st[1];
            long tokens = preset.stages().get(i).tokens();
            flops += blockTokens * m.blockFlopsPerToken(seqLen) + st[2] * tokens * m.headFlopsPerToken();
            double batches = Math.ceil(tokens / ((double) batch * seqLen));
            bytes += batches * (blockTokens / tokens) * m.blockParameters() * p.dtypeBytes()
                + batches * st[2] * m.embedAndHead() * p.dtypeBytes();
        }
        return new Stage(flops, bytes).times(preset.generations());
    }

    /** The Hessian pass: the dense forward in float32 over the calibration tokens and X^T X per input. */
    static Stage calibration(ModelFootprint m, BuildDbSettings s) {
        double tokens = (double) s.sequences() * s.seqLen();
        double hessian = 0;
        for (int n : inputWidths(m.config())) {
            hessian += 2.0 * n * n * tokens;
        }
        double flops = m.config().forwardFlops(s.sequences(), s.seqLen()) + hessian * m.blocks();
        double batches = Math.ceil((double) s.sequences() / s.batchSize());
        return new Stage(flops, batches * m.parameters() * 4.0);
    }

    /** Per block and input one n^3 factorisation; per layer and level 2 rows n^2 OBS work; the files written. */
    static Stage databaseBuild(ModelFootprint m, BuildDbSettings s, DatabaseSize size) {
        ModelConfig c = m.config();
        double flops = 0;
        for (int n : inputWidths(c)) {
            flops += Math.pow(n, 3);
        }
        for (LinearName n : ArchitectureRegistry.forType(c.modelType(), "config.json").linears(c)) {
            long[] shape = n.shape(c);
            int levels = s.compressor().levels(Math.toIntExact(shape[0]), Math.toIntExact(shape[1])).size();
            flops += levels * 2.0 * shape[0] * shape[1] * shape[1];
        }
        return new Stage(flops * m.blocks(), size.totalBytes());
    }

    /** DarwinLM's structured OBS: per block and group one n^3 factorisation and 2 rows n^2 per level. */
    static Stage structuredBuild(ModelFootprint m, StructuredGrid grid) {
        ModelConfig c = m.config();
        double flops = 0;
        for (StructureGroup g : StructureGroup.values()) {
            long[] shape = g.prunedLayer().shape(c);
            flops += Math.pow(shape[1], 3) + grid.levels(g, c).size() * 2.0 * shape[0] * shape[1] * shape[1];
        }
        return new Stage(flops * m.blocks(), 0);
    }

    private static List<Integer> inputWidths(ModelConfig c) {
        Set<InputGroup> groups = new LinkedHashSet<>();
        for (LinearName n : ArchitectureRegistry.forType(c.modelType(), "config.json").linears(c)) {
            groups.add(InputGroup.of(n));
        }
        return groups.stream().map(g -> Math.toIntExact(g.reporter().shape(c)[1])).toList();
    }

    /** The stages' hours. */
    static final class Hours {
        private final PlanSettings p;
        Stage calibration = Stage.NONE;
        Stage database = Stage.NONE;
        Stage search = Stage.NONE;
        Stage searchNaive = Stage.NONE;
        Stage finals = Stage.NONE;

        Hours(PlanSettings p) {
            this.p = p;
        }

        void put(ObjectNode out) {
            out.put("device_flops", p.deviceFlops());
            out.put("device_bandwidth", p.deviceBandwidth());
            ObjectNode h = out.putObject("hours");
            h.put("calibration", round(calibration.hours(p)));
            h.put("database", round(database.hours(p)));
            h.put("search", round(search.hours(p)));
            h.put("search_without_sharing", round(searchNaive.hours(p)));
            h.put("final", round(finals.hours(p)));
            h.put("total", round(calibration.hours(p) + database.hours(p) + search.hours(p) + finals.hours(p)));
        }

        private static double round(double hours) {
            return hours == 0 ? 0 : Double.parseDouble(String.format(java.util.Locale.ROOT, "%.3g", hours));
        }
    }
}
