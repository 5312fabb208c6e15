package io.evocompress.schedule;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.builddb.BuildDbSettings;
import io.evocompress.config.JobConfig;
import io.evocompress.config.ModelConfigReader;
import io.evocompress.config.ResidencySettings;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelReference;

import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The settings of {@code evocompress schedule}, read from YAML and checked before Spark starts. The
 * {@code database} section is build-db's (the per-layer error estimates at the probe sparsity, i.e.
 * the target, are level 0 of that database, and its {@code hessians/} feed the final compression);
 * {@code database.max-level} defaults to 0 here (only the probe level is needed), and setting it to
 * a search's value shares that search's database.
 *
 * @param range       the fixed range, or null for {@code scheduler.range: auto}
 * @param widths      the widths {@code auto} tries (default {@link RangeChoice#DEFAULT_WIDTHS})
 * @param bits        4 for joint SparseGPT + GPTQ, 0 for pruning only
 * @param groupSize   quantization group (columns), clamped to each layer's width
 * @param finalTokens calibration tokens KL is measured on (range trials and final figures)
 * @param errorMeasure {@code total}: E_l as SparseGPT reports it (the layer's summed OBS loss, the
 *                    paper's); {@code per-weight}: E_l / numel, so layers of different sizes compare by
 *                    the loss per weight rather than by their size; {@code relative} (default):
 *                    E_l / (1/2 tr(W H W^T)), the fraction of the layer's dense output energy the probe
 *                    pruning loses, which compares q, k, v, o, gate, up and down on one scale (the
 *                    energy is computed by build-db's layer tasks and read from the layer records;
 *                    only a database built before it was recorded has it computed on the driver)
 * @param reference   the model, resolved once (its parsed config.json), for every later stage on the driver
 */
public record ScheduleJobSettings(String model, String output, String device, double target, String calibrationData,
                                  int sequences, int seqLen, BuildDbSettings buildDb, String heldoutData, int heldoutSeqLen,
                                  long heldoutMaxTokens, ScheduleSettings schedule, SparsityRange range, double[] widths,
                                  int bits, int groupSize, int batchSize, double owlLambda, double owlM, long finalTokens,
                                  String errorMeasure, ObjectNode effectiveConfig, ModelReference reference) {

    static final Set<String> KEYS = Set.of("model", "output", "device", "target",
        "calibration.data", "calibration.sequences", "calibration.seq-len", "calibration.seed", "calibration.shards",
        "calibration.batch-size",
        "database.path", "database.max-level", "database.delta", "database.dampening", "database.block-size",
        "database.value-bytes",
        "heldout.data", "heldout.seq-len", "heldout.max-tokens",
        "scheduler.clusters", "scheduler.granularity", "scheduler.cap", "scheduler.error-floor", "scheduler.range",
        "scheduler.range-widths", "scheduler.error-measure",
        "quantization.bits", "quantization.group-size",
        "evaluation.batch-size", "evaluation.tokens", "baseline.owl.lambda", "baseline.owl.m",
        ResidencySettings.RESIDENCY, ResidencySettings.DEVICE_MEMORY);

    public boolean autoRange() {
        return range == null;
    }

    public boolean quantized() {
        return bits > 0;
    }

    public static ScheduleJobSettings from(JobConfig c) {
        return from(c, ModelConfigReader.CHECKPOINT);
    }

    /** As {@link #from(JobConfig)}, resolving the model through {@code models} ({@code plan}: config.json alone). */
    public static ScheduleJobSettings from(JobConfig c, ModelConfigReader models) {
        c.requireOnly(KEYS);
        String model = c.string("model");
        String output = c.outputLocation("output", model);
        String device = c.stringOr("device", "auto");
        c.require(io.evocompress.device.DeviceChoice.isValidSpec(device), "device", "auto, cpu, gpu or gpu:N", "'" + device + "'");
        double target = c.number("target");
        c.require(target > 0 && target < 1, "target", "a sparsity in (0, 1)", target);
        ModelReference reference = models.read(model);
        ModelConfig config = reference.config();
        String data = c.string("calibration.data");
        int sequences = c.intOr("calibration.sequences", 64);
        int seqLen = c.intOr("calibration.seq-len", Math.min(512, config.maxPositionEmbeddings()));
        long seed = c.integerOr("calibration.seed", 0);
        c.require(sequences >= 1, "calibration.sequences", "at least 1", sequences);
        c.require(seqLen >= 2 && seqLen <= config.maxPositionEmbeddings(), "calibration.seq-len",
            "in [2, " + config.maxPositionEmbeddings() + "] (the model's context)", seqLen);
        if (!c.has("database.max-level")) {
            c.set("database.max-level", IntNode.valueOf(0));
        }
        BuildDbSettings buildDb = BuildDbSettings.forSearch(c, reference, "sparsity", target, sequences, seqLen, seed);

        String heldout = c.string("heldout.data");
        int heldoutSeqLen = c.intOr("heldout.seq-len", seqLen);
        c.require(heldoutSeqLen >= 2 && heldoutSeqLen <= config.maxPositionEmbeddings(), "heldout.seq-len",
            "in [2, " + config.maxPositionEmbeddings() + "]", heldoutSeqLen);
        long heldoutMax = c.integerOr("heldout.max-tokens", 0);

        int clusters = c.intOr("scheduler.clusters", ScheduleSettings.DEFAULTS.clusters());
        String granularity = c.choice("scheduler.granularity", "layer", Set.of("layer", "block"));
        double cap = c.numberOr("scheduler.cap", ScheduleSettings.DEFAULTS.cap());
        double floor = c.numberOr("scheduler.error-floor", 1e-30);
        ScheduleSettings schedule = new ScheduleSettings(clusters, cap,
            Granularity.valueOf(granularity.toUpperCase(Locale.ROOT)), floor);
        SparsityRange range = null; // auto, the default
        JsonNode r = c.has("scheduler.range") ? c.node("scheduler.range") : null;
        if (r == null || r.isTextual() && r.asText().equals("auto")) {
            range = null;
        } else if (r.isArray() && r.size() == 2 && r.get(0).isNumber() && r.get(1).isNumber()) {
            range = new SparsityRange(r.get(0).asDouble(), r.get(1).asDouble());
            c.require(range.min() <= target && target <= range.max(), "scheduler.range",
                "a range [min, max] containing the target " + target, range);
        } else {
            throw new EvocompressException("Setting 'scheduler.range' in " + c.source()
                + " must be [min, max] (e.g. [0.6, 0.8]) or auto, but was " + r);
        }
        double[] widths = RangeChoice.DEFAULT_WIDTHS;
        if (c.has("scheduler.range-widths")) {
            List<JsonNode> w = c.list("scheduler.range-widths");
            widths = new double[w.size()];
            for (int i = 0; i < widths.length; i++) {
                widths[i] = w.get(i).asDouble(-1);
                c.require(widths[i] >= 0 && widths[i] < 1, "scheduler.range-widths", "widths in [0, 1)", w.get(i));
            }
            c.require(widths.length >= 1, "scheduler.range-widths", "at least one width", "[]");
        }
        int bits = c.intOr("quantization.bits", 0);
        c.require(bits == 0 || bits == 4, "quantization.bits", "4 (joint SparseGPT + 4-bit GPTQ) or absent", bits);
        int groupSize = c.intOr("quantization.group-size", 128);
        c.require(groupSize >= 1 && buildDb.compressor().blockSize() % Math.min(groupSize, buildDb.compressor().blockSize()) == 0,
            "quantization.group-size", "positive and a divisor of database.block-size (" + buildDb.compressor().blockSize()
                + ")", groupSize);
        int batchSize = c.intOr("evaluation.batch-size", 8);
        c.require(batchSize >= 1, "evaluation.batch-size", "at least 1", batchSize);
        long poolTokens = (long) sequences * seqLen;
        long finalTokens = c.integerOr("evaluation.tokens", Math.min(poolTokens, 65536));
        c.require(finalTokens >= 1 && finalTokens <= poolTokens, "evaluation.tokens",
            "at most the calibration pool's " + poolTokens + " tokens", finalTokens);
        double owlLambda = c.numberOr("baseline.owl.lambda", 0.08);
        double owlM = c.numberOr("baseline.owl.m", 5);
        String errorMeasure = c.choice("scheduler.error-measure", "relative", Set.of("total", "per-weight", "relative"));
        return new ScheduleJobSettings(model, output, device, target, data, sequences, seqLen, buildDb, heldout, heldoutSeqLen,
            heldoutMax, schedule, range, widths, bits, groupSize, batchSize, owlLambda, owlM, finalTokens, errorMeasure,
            c.tree(), reference);
    }
}
