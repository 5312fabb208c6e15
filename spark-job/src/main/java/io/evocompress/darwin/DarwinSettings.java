package io.evocompress.darwin;

import io.evocompress.EvocompressException;
import io.evocompress.builddb.BuildDbSettings;
import io.evocompress.calibrate.HessianJob;
import io.evocompress.config.JobConfig;
import io.evocompress.database.CompressorSettings;
import io.evocompress.evopress.SearchSettings;
import io.evocompress.model.ModelConfig;
import io.evocompress.search.CalibrationPool;
import io.evocompress.search.MultiStepSelection;
import io.evocompress.search.SelectionStage;
import io.evocompress.structured.StructuredGrid;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The darwin command's settings (YAML + --set), validated before Spark starts. Stages are
 * {@code survivors@fitnessTokens:trainingTokens} (ALGORITHMS.md section 5 by default:
 * 8@1024:10000, 4@2048:50000, 2@4096:100000, 1@8192:200000), fitness token counts distinct (a stage is
 * recognised by its minibatch's size). {@code validationTokens}: the tail of the calibration text
 * kept out of the search's pool and of post-training, on which the post-trained winner and the
 * post-trained uniform model are compared (0: no comparison, the winner is the result). {@code heldoutTailTokens}: the
 * calibration text's tokens just before the validation slice, also kept out of search and post-training, on which both
 * post-trained models' perplexity is measured (held-out text of the calibration text's own distribution; 0: none).
 * {@code finalCandidates}: how many of the search's finalists ({@link io.evocompress.search.SearchResult#finalists}) are
 * post-trained with the full budget and compared on the validation tokens, the best of them being the search's result
 * (1: the winner alone). {@code fitness}: what
 * selection scores after a candidate's fine-tuning and what the validation compares, {@code kl} (to the dense
 * model, ALGORITHMS.md) or {@code nll} (next-token loss on the text, the reference code's perplexity fitness).
 */
public record DarwinSettings(String model, String output, String device, String calibrationData, int sequences, int seqLen,
                             long calibrationSeed, int shards, int batchSize, String databasePath, double target, int steps,
                             String trainingData, int generations, int offspring, long seed, List<SelectionStage> stages,
                             long[] trainingTokens, double learningRate, String fitness, long postTokens, String postObjective,
                             double postLearningRate, int postBatchSize, int postCheckpointEvery, String heldoutData,
                             int heldoutSeqLen, long heldoutMaxTokens, long finalTokens, long validationTokens,
                             long heldoutTailTokens, int finalCandidates,
                             String effectiveConfig)
    implements Serializable {

    public static final String DEFAULT_STAGES = "8@1024:10000,4@2048:50000,2@4096:100000,1@8192:200000";
    public static final Set<String> KEYS = Set.of("model", "output", "device",
        "calibration.data", "calibration.sequences", "calibration.seq-len", "calibration.seed", "calibration.shards",
        "calibration.batch-size", "database.path", "database.target", "database.steps", "training.data",
        "search.generations", "search.offspring", "search.seed", "search.stages", "search.learning-rate", "search.fitness",
        "post-training.tokens", "post-training.objective", "post-training.learning-rate", "post-training.batch-size",
        "post-training.checkpoint-every", "heldout.data", "heldout.seq-len", "heldout.max-tokens", "final.tokens",
        "final.validation-tokens", "final.heldout-tokens", "final.candidates");

    public static DarwinSettings from(JobConfig c) {
        return from(c, io.evocompress.config.ModelConfigReader.CHECKPOINT);
    }

    /** As {@link #from(JobConfig)}, resolving the model through {@code models} ({@code plan}: config.json alone). */
    public static DarwinSettings from(JobConfig c, io.evocompress.config.ModelConfigReader models) {
        c.requireOnly(KEYS);
        String model = c.string("model");
        ModelConfig config = models.read(model).config();
        // a per-head fused q/k/v (BLOOM) holds a pruned block only when its k and v heads go with the query heads
        io.evocompress.model.Architecture arch = io.evocompress.model.ArchitectureRegistry.forType(config.modelType(), model);
        if (!arch.prunesKeyValueWithHeads() && arch.fused().stream()
                .anyMatch(f -> f.perHead() && f.parts().contains(io.evocompress.model.LinearName.Q_PROJ))) {
            throw new io.evocompress.EvocompressException(model + "/config.json: model_type " + config.modelType()
                + " stores q, k and v fused per head, which cannot hold a block with query heads removed: darwin "
                + "does not run on it.");
        }
        String output = c.outputLocation("output", model);
        if (c.has("database.path")) {
            c.outputLocation("database.path", model);
        }
        String device = c.stringOr("device", "auto");
        c.require(io.evocompress.device.DeviceChoice.isValidSpec(device), "device", "auto, cpu, gpu or gpu:N", "'" + device + "'");
        String data = c.string("calibration.data");
        int seqLen = c.intOr("calibration.seq-len", Math.min(256, config.maxPositionEmbeddings()));
        if (seqLen < 2 || seqLen > config.maxPositionEmbeddings()) {
            throw new EvocompressException("Setting 'calibration.seq-len' in " + c.source() + " must be in [2, "
                + config.maxPositionEmbeddings() + "], but was " + seqLen);
        }
        int sequences = c.positiveIntOr("calibration.sequences", 64);
        int shards = c.positiveIntOr("calibration.shards", Math.min(4, sequences));
        double target = c.numberOr("database.target", 0.5);
        int steps = c.boundedIntOr("database.steps", 10, 1, 100,
            "each step is a stored snapshot per unit and level");
        StructuredGrid grid = new StructuredGrid(target, steps);
        grid.levels(io.evocompress.structured.StructureGroup.ATTENTION, config);
        grid.levels(io.evocompress.structured.StructureGroup.MLP, config);
        List<SelectionStage> stages = new ArrayList<>();
        List<Long> training = new ArrayList<>();
        for (String part : c.stringOr("search.stages", DEFAULT_STAGES).split(",")) {
            String[] st = part.strip().split(":");
            if (st.length != 2) {
                throw new EvocompressException("Setting 'search.stages' in " + c.source() + ": stage '" + part
                    + "' is not survivors@fitnessTokens:trainingTokens, e.g. 8@1024:10000");
            }
            SelectionStage s = SelectionStage.parse(st[0]);
            if (stages.stream().anyMatch(x -> x.tokens() == s.tokens())) {
                throw new EvocompressException("Setting 'search.stages' in " + c.source() + ": two stages score "
                    + s.tokens() + " tokens; give every stage a different fitness token count");
            }
            stages.add(s);
            try {
                training.add(Long.parseLong(st[1].strip()));
            } catch (NumberFormatException e) {
                throw new EvocompressException("Setting 'search.stages' in " + c.source() + ": '" + st[1] + "' is not a token count");
            }
        }
        String objective = c.choice("post-training.objective", "lm", Set.of("lm", "distill"));
        // the selection's own checks (survivors non-increasing, last stage 1, tokens within the pool) before any work
        CalibrationPool pool = new CalibrationPool(sequences, seqLen);
        int offspring = c.boundedIntOr("search.offspring", 16, 1, SearchSettings.CANDIDATES_LIMIT,
            "every offspring is a candidate fine-tuned and scored per generation");
        try {
            new MultiStepSelection(stages, pool).checkOffspring(offspring);
        } catch (EvocompressException e) {
            throw new EvocompressException("Setting 'search.stages' in " + c.source() + ": " + e.getMessage());
        }
        for (int i = 0; i < training.size(); i++) {
            c.require(training.get(i) >= 0, "search.stages", "stages training on 0 or more tokens (stage " + (i + 1) + ")",
                training.get(i));
        }
        int generations = c.boundedIntOr("search.generations", 200, 0, SearchSettings.GENERATIONS_LIMIT,
            "every generation fine-tunes and scores its offspring");
        long postTokens = c.integerOr("post-training.tokens", 100_000);
        c.require(postTokens >= 0, "post-training.tokens", ">= 0 (0: no post-training)", postTokens);
        long poolTokens = (long) sequences * seqLen;
        long finalTokens = c.integerOr("final.tokens", Math.min(poolTokens, 65536));
        c.require(finalTokens >= 1 && finalTokens <= poolTokens, "final.tokens",
            "in [1, " + poolTokens + "] (the calibration pool: calibration.sequences x calibration.seq-len)", finalTokens);
        long validationTokens = c.integerOr("final.validation-tokens", 4096);
        c.require(validationTokens == 0 || validationTokens >= seqLen && validationTokens <= 1_000_000_000L,
            "final.validation-tokens", "0 (off) or at least calibration.seq-len (" + seqLen + ") and at most 1e9", validationTokens);
        long tailTokens = c.integerOr("final.heldout-tokens", 0);
        c.require(tailTokens == 0 || tailTokens >= seqLen && tailTokens <= 1_000_000_000L,
            "final.heldout-tokens", "0 (off) or at least calibration.seq-len (" + seqLen + ") and at most 1e9", tailTokens);
        int candidates = c.boundedIntOr("final.candidates", 1, 1, 16, "each is post-trained with the full post-training budget");
        c.require(candidates == 1 || validationTokens > 0, "final.candidates",
            "1 when final.validation-tokens is 0 (finalists are compared on the validation tokens)", candidates);
        return new DarwinSettings(model, output, device, data, sequences, seqLen, c.integerOr("calibration.seed", 0), shards,
            c.positiveIntOr("calibration.batch-size", 8),
            c.stringOr("database.path", output + "/database"), target, steps,
            c.stringOr("training.data", data),
            generations, offspring,
            c.integerOr("search.seed", 0), List.copyOf(stages), training.stream().mapToLong(Long::longValue).toArray(),
            learningRate(c, "search.learning-rate", 1e-5), c.choice("search.fitness", "kl", Set.of("kl", "nll")),
            postTokens, objective, learningRate(c, "post-training.learning-rate", 1e-4),
            c.positiveIntOr("post-training.batch-size", 4),
            c.positiveIntOr("post-training.checkpoint-every", 50),
            c.string("heldout.data"), c.intOr("heldout.seq-len", seqLen), c.integerOr("heldout.max-tokens", 0),
            finalTokens, validationTokens, tailTokens, candidates, c.toJson());
    }

    private static double learningRate(JobConfig c, String key, double fallback) {
        double v = c.numberOr(key, fallback);
        c.require(v > 0 && !Double.isInfinite(v), key, "a positive number", v);
        return v;
    }

    public StructuredGrid grid() {
        return new StructuredGrid(target, steps);
    }

    /** The build-db settings whose Hessian pass ({@link HessianJob}) the structured database reuses. */
    public BuildDbSettings hessianSettings() {
        return new BuildDbSettings(model, databasePath, device, calibrationData, sequences, seqLen, calibrationSeed, shards,
            batchSize, CompressorSettings.bits(List.of(4), 128, false, false, 0.01, 128));
    }

    /** Index of the fitness in a {@link DarwinCandidateTask}'s result: 0 KL, 1 NLL per token. */
    public int fitnessIndex() {
        return "nll".equals(fitness) ? 1 : 0;
    }

    /** Training tokens of the stage that scores {@code fitnessTokens}. */
    public long trainingTokensFor(long fitnessTokens) {
        for (int i = 0; i < stages.size(); i++) {
            if (stages.get(i).tokens() == fitnessTokens) {
                return trainingTokens[i];
            }
        }
        return 0; // the initial genome's scoring: no stage, no training
    }
}
