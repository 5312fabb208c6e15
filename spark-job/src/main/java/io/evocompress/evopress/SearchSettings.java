package io.evocompress.evopress;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.builddb.BuildDbSettings;
import io.evocompress.config.JobConfig;
import io.evocompress.config.ModelConfigReader;
import io.evocompress.config.ResidencySettings;
import io.evocompress.fitness.FitnessKind;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelReference;
import io.evocompress.search.DomainKind;
import io.evocompress.search.SearchPreset;
import io.evocompress.search.SelectionStage;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The settings of {@code evocompress search}, read from its YAML configuration and checked before
 * any expensive work. The {@code database} section (sparsity and bits domains) is build-db's, with
 * {@code database.path} naming where the database lives: built there when missing, reused when its
 * manifest matches the model, calibration data and compressor settings.
 *
 * @param domain       sparsity | bits | depth
 * @param target       sparsity in (0, 1), average bits, or the fraction of blocks dropped
 * @param buildDb      build-db's settings for the database (null for depth)
 * @param init         best (the default: the best of {@link #startNames()} and the domain's start), uniform
 *                     (the domain's own start, as in the paper) or scheduler
 * @param baselines    baseline names, evaluated exactly like the result
 * @param finalTokens  calibration tokens every profile's final KL is measured on
 * @param initFile     with init {@code profile-file}: the EvoPress profile the search starts from, else null
 * @param tie          bits: the tied layer sets (qkv, gate_up) that share one width, empty for none
 * @param reference    the model, resolved once (its parsed config.json), for every later stage on the driver
 * @param selectionCheck {@code search.selection-check}: also score each stage's candidates on a second, disjoint
 *                     minibatch of the same size and count the stage's wrong choices (observation only)
 */
public record SearchSettings(String model, String output, String device, DomainKind domain, double target, boolean wholeBlocks,
                             String calibrationData, int sequences, int seqLen, long calibrationSeed,
                             BuildDbSettings buildDb, String heldoutData, int heldoutSeqLen, long heldoutMaxTokens,
                             String presetName, Integer generations, Integer offspring, List<SelectionStage> stages,
                             Integer initialCandidates, Long initialTokens, long seed, FitnessKind fitness, int topK,
                             int batchSize, int candidatesPerTask, String init, List<String> baselines, int randomCandidates,
                             double owlLambda, double owlM, long finalTokens, ObjectNode effectiveConfig,
                             String initFile, List<String> tie, ModelReference reference, boolean selectionCheck) {

    /** Bounds on the settings that multiply work. */
    public static final int GENERATIONS_LIMIT = 100_000;
    public static final int CANDIDATES_LIMIT = 10_000;
    public static final Set<String> DOMAINS = Set.of("sparsity", "bits", "depth");

    /**
     * The profiles {@code search.init: best} scores as starts (besides the domain's own), also measured
     * at the end so the result is never worse than one of them: uniform, OWL and the scheduler for
     * sparsity; uniform for an integer bit target; ShortGPT for depth (whose own start is the best of
     * random genomes). Empty for the other {@code search.init} values.
     */
    public List<String> startNames() {
        if (!init.equals("best")) {
            return List.of();
        }
        return switch (domain) {
            case SPARSITY -> List.of("uniform", "owl", "scheduler");
            case BITS -> target == Math.rint(target) ? List.of("uniform") : List.of();
            default -> List.of("shortgpt");
        };
    }

    public static final Set<String> BASELINES = Set.of("uniform", "owl", "scheduler", "random", "shortgpt");
    static final Set<String> KEYS = Set.of("model", "output", "device",
        "domain.kind", "domain.target", "domain.whole-blocks", "domain.tie",
        "calibration.data", "calibration.sequences", "calibration.seq-len", "calibration.seed", "calibration.shards",
        "calibration.batch-size",
        "database.path", "database.max-level", "database.delta", "database.bits", "database.group-size",
        "database.symmetric", "database.act-order", "database.dampening", "database.block-size", "database.value-bytes",
        "heldout.data", "heldout.seq-len", "heldout.max-tokens",
        "search.preset", "search.generations", "search.offspring", "search.stages", "search.initial-candidates",
        "search.initial-tokens", "search.seed", "search.fitness", "search.top-k", "search.batch-size",
        "search.candidates-per-task", "search.init", "search.init-file", "search.selection-check",
        "baselines", "baseline.random.candidates", "baseline.owl.lambda", "baseline.owl.m",
        "final.tokens", ResidencySettings.RESIDENCY, ResidencySettings.DEVICE_MEMORY);

    public static SearchSettings from(JobConfig c) {
        return from(c, ModelConfigReader.CHECKPOINT);
    }

    /** As {@link #from(JobConfig)}, resolving the model through {@code models} ({@code plan}: config.json alone). */
    public static SearchSettings from(JobConfig c, ModelConfigReader models) {
        c.requireOnly(KEYS);
        ResidencySettings.from(c);   // checked here for every domain (depth has no database settings to carry it)
        String model = c.string("model");
        String output = c.outputLocation("output", model);
        String device = c.stringOr("device", "auto");
        c.require(io.evocompress.device.DeviceChoice.isValidSpec(device), "device", "auto, cpu, gpu or gpu:N", "'" + device + "'");
        DomainKind domain = DomainKind.ofLabel(c.choice("domain.kind", null, DOMAINS));
        double target = c.number("domain.target");
        ModelReference reference = models.read(model);
        ModelConfig config = reference.config();
        switch (domain) {
            case SPARSITY -> c.require(target > 0 && target < 1, "domain.target", "a sparsity in (0, 1)", target);
            case BITS -> c.require(target >= 2 && target <= 8, "domain.target", "an average bit width in [2, 8]", target);
            default -> {
                c.require(target > 0 && target < 1, "domain.target", "the fraction of blocks dropped, in (0, 1)", target);
                c.require((int) (target * config.numLayers()) >= 1, "domain.target",
                    "large enough to drop at least one of the model's " + config.numLayers() + " blocks", target);
            }
        }
        boolean wholeBlocks = c.boolOr("domain.whole-blocks", false);
        List<String> tie = new ArrayList<>();
        if (c.has("domain.tie")) {
            if (domain != DomainKind.BITS) {
                throw new EvocompressException("Setting 'domain.tie' in " + c.source() + " ties bit widths; the domain is "
                    + domain + ".");
            }
            for (JsonNode n : c.list("domain.tie")) {
                if (!io.evocompress.search.BitsDomain.TIES.contains(n.asText()) || tie.contains(n.asText())) {
                    throw new EvocompressException("Setting 'domain.tie' in " + c.source() + " names '" + n.asText()
                        + "'; it takes a list of distinct " + io.evocompress.search.BitsDomain.TIES + ".");
                }
                tie.add(n.asText());
            }
        }
        String data = c.string("calibration.data");
        int sequences = c.intOr("calibration.sequences", 64);
        int seqLen = c.intOr("calibration.seq-len", Math.min(512, config.maxPositionEmbeddings()));
        long calibrationSeed = c.integerOr("calibration.seed", 0);
        c.require(sequences >= 1, "calibration.sequences", "at least 1", sequences);
        c.require(seqLen >= 2 && seqLen <= config.maxPositionEmbeddings(), "calibration.seq-len",
            "in [2, " + config.maxPositionEmbeddings() + "] (the model's context)", seqLen);

        BuildDbSettings buildDb = null;
        if (domain != DomainKind.DEPTH) {
            buildDb = BuildDbSettings.forSearch(c, reference, domain.label(), target, sequences, seqLen, calibrationSeed);
        } else if (c.has("database.path")) {
            throw new EvocompressException("Setting 'database.path' in " + c.source()
                + " does not apply to the depth domain (block dropping needs no database): remove it.");
        }

        String heldout = c.string("heldout.data");
        int heldoutSeqLen = c.intOr("heldout.seq-len", seqLen);
        c.require(heldoutSeqLen >= 2 && heldoutSeqLen <= config.maxPositionEmbeddings(), "heldout.seq-len",
            "in [2, " + config.maxPositionEmbeddings() + "]", heldoutSeqLen);
        long heldoutMax = c.integerOr("heldout.max-tokens", 0);

        String preset = c.choice("search.preset", defaultPreset(domain), Set.of("sparsity", "quantization", "depth", "fast"));
        Integer generations = c.has("search.generations")
            ? c.boundedIntOr("search.generations", 1, 1, GENERATIONS_LIMIT, "every generation scores its offspring") : null;
        Integer offspring = c.has("search.offspring")
            ? c.boundedIntOr("search.offspring", 1, 1, CANDIDATES_LIMIT, "every offspring is a candidate model scored per generation") : null;
        List<SelectionStage> stages = null;
        if (c.has("search.stages")) {
            JsonNode n = c.node("search.stages");
            try {
                stages = n.isTextual() ? SelectionStage.parseList(n.asText()) : parseStageList(c.list("search.stages"));
            } catch (RuntimeException e) {
                throw new EvocompressException("Setting 'search.stages' in " + c.source()
                    + " must be stages like \"8@2048,2@16384,1@65536\" (survivors@tokens): " + e.getMessage());
            }
        }
        Integer initialCandidates = c.has("search.initial-candidates")
            ? c.boundedIntOr("search.initial-candidates", 1, 1, CANDIDATES_LIMIT, "each is a candidate model scored") : null;
        Long initialTokens = c.has("search.initial-tokens") ? (long) c.positiveIntOr("search.initial-tokens", 1) : null;
        long seed = c.integerOr("search.seed", 0);
        FitnessKind fitness;
        try {
            fitness = FitnessKind.parse(c.stringOr("search.fitness", "kl"));
        } catch (RuntimeException e) {
            throw new EvocompressException("Setting 'search.fitness' in " + c.source() + ": " + e.getMessage());
        }
        int topK = c.intOr("search.top-k", 512);
        c.require(topK >= 1, "search.top-k", "at least 1", topK);
        int batchSize = c.intOr("search.batch-size", 8);
        c.require(batchSize >= 1, "search.batch-size", "at least 1", batchSize);
        // 0: auto (SearchJob.candidatesPerTask: a streamed search gives each task slot one task of a generation's
        // candidates, so they share their prefixes; a resident one scores one candidate per task)
        String perTaskSetting = c.has("search.candidates-per-task") ? c.string("search.candidates-per-task") : "auto";
        c.require(perTaskSetting.equals("auto") || perTaskSetting.matches("[1-9][0-9]{0,8}"), "search.candidates-per-task",
            "auto or a whole number of at least 1", perTaskSetting);
        int perTask = perTaskSetting.equals("auto") ? 0 : Integer.parseInt(perTaskSetting);
        String init = c.choice("search.init", "best", Set.of("best", "uniform", "scheduler", "profile-file"));
        String initFile = c.has("search.init-file") ? c.string("search.init-file") : null;
        if (init.equals("profile-file") != (initFile != null)) {
            throw new EvocompressException("Setting 'search.init" + (initFile == null ? "-file' in " + c.source()
                + " is missing: search.init: profile-file needs search.init-file (an EvoPress profile, e.g. a search's "
                + "evopress-profile.txt)." : "-file' in " + c.source() + " needs search.init: profile-file (it is '" + init
                + "')."));
        }
        if (initFile != null) {
            org.apache.hadoop.fs.Path f = io.evocompress.fs.HadoopFiles.path(initFile);
            if (!io.evocompress.fs.HadoopFiles.exists(io.evocompress.fs.HadoopFiles.fileSystem(f,
                io.evocompress.fs.HadoopFiles.defaultConf()), f)) {
                throw new EvocompressException("Setting 'search.init-file' in " + c.source() + " names " + f
                    + ", which does not exist.");
            }
        }
        if (init.equals("scheduler") && domain != DomainKind.SPARSITY) {
            throw new EvocompressException("Setting 'search.init' in " + c.source()
                + " is 'scheduler', which starts a sparsity search; the domain is " + domain + ".");
        }

        List<String> baselines = new ArrayList<>();
        if (c.has("baselines")) {
            for (JsonNode n : c.list("baselines")) {
                String b = n.asText();
                if (!BASELINES.contains(b)) {
                    throw new EvocompressException("Setting 'baselines' in " + c.source() + " names '" + b
                        + "'; known baselines: " + BASELINES);
                }
                if ((b.equals("owl") || b.equals("scheduler")) && domain != DomainKind.SPARSITY
                    || b.equals("shortgpt") && domain != DomainKind.DEPTH) {
                    throw new EvocompressException("Baseline '" + b + "' (setting 'baselines' in " + c.source()
                        + ") does not apply to the " + domain + " domain.");
                }
                if (!baselines.contains(b)) {
                    baselines.add(b);
                }
            }
        } else {
            baselines.add("uniform");
            if (domain == DomainKind.SPARSITY) {
                baselines.add("owl");
            }
            if (domain == DomainKind.DEPTH) {
                baselines.remove("uniform");
                baselines.add("shortgpt");
                baselines.add("random");
            }
        }
        if (baselines.contains("uniform") && domain == DomainKind.DEPTH) {
            throw new EvocompressException("Baseline 'uniform' does not apply to the depth domain; use shortgpt or random.");
        }
        if (domain == DomainKind.BITS && baselines.contains("uniform") && target != Math.rint(target)) {
            throw new EvocompressException("Baseline 'uniform' needs an integer bit target, but domain.target is " + target
                + "; use 'random' for non-integer targets.");
        }
        int randomCandidates = c.boundedIntOr("baseline.random.candidates", 32, 1, CANDIDATES_LIMIT,
            "each is a candidate model scored");
        double owlLambda = c.numberOr("baseline.owl.lambda", 0.08);
        double owlM = c.numberOr("baseline.owl.m", 5);
        long poolTokens = (long) sequences * seqLen;
        long finalTokens = c.integerOr("final.tokens", Math.min(poolTokens, 65536));
        c.require(finalTokens >= 1 && finalTokens <= poolTokens, "final.tokens",
            "at most the calibration pool's " + poolTokens + " tokens (calibration.sequences x calibration.seq-len)", finalTokens);
        return new SearchSettings(model, output, device, domain, target, wholeBlocks, data, sequences, seqLen, calibrationSeed,
            buildDb, heldout, heldoutSeqLen, heldoutMax, preset, generations, offspring, stages, initialCandidates,
            initialTokens, seed, fitness, topK, batchSize, perTask, init, baselines, randomCandidates, owlLambda, owlM,
            finalTokens, c.tree(), initFile, tie, reference, c.boolOr("search.selection-check", false));
    }

    /** Where the search keeps the weights (its database's setting for sparsity and bits; read from its configuration for depth). */
    public ResidencySettings residency() {
        return buildDb != null ? buildDb.residency()
            : ResidencySettings.from(JobConfig.of(effectiveConfig, "the search configuration", List.of()));
    }

    /** The preset with every override applied. */
    public SearchPreset preset(io.evocompress.search.SearchDomain searchDomain, int blocks, int dropped) {
        SearchPreset p = switch (presetName) {
            case "sparsity" -> SearchPreset.sparsity();
            case "quantization" -> SearchPreset.quantization();
            case "depth" -> SearchPreset.depth(blocks, dropped);
            default -> SearchPreset.fast();
        };
        if (generations != null) {
            p = p.withGenerations(generations);
        }
        if (offspring != null) {
            p = p.withOffspring(offspring);
        }
        if (stages != null) {
            p = p.withStages(stages);
        }
        if (initialCandidates != null || initialTokens != null) {
            p = p.withInitial(initialCandidates != null ? initialCandidates : p.initialCandidates(),
                initialTokens != null ? initialTokens : p.initialTokens());
        }
        return p;
    }

    private static String defaultPreset(DomainKind domain) {
        return switch (domain) {
            case SPARSITY -> "sparsity";
            case BITS -> "quantization";
            default -> "depth";
        };
    }

    private static List<SelectionStage> parseStageList(List<JsonNode> items) {
        List<SelectionStage> out = new ArrayList<>();
        for (JsonNode n : items) {
            if (n.isArray() && n.size() == 2) {
                out.add(new SelectionStage(n.get(0).asInt(), n.get(1).asLong()));
            } else {
                out.add(SelectionStage.parse(n.asText()));
            }
        }
        return out;
    }
}
