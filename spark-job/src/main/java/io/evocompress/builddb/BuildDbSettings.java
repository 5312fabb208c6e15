package io.evocompress.builddb;

import com.fasterxml.jackson.databind.JsonNode;
import io.evocompress.EvocompressException;
import io.evocompress.config.JobConfig;
import io.evocompress.config.ResidencySettings;
import io.evocompress.database.CompressorSettings;
import io.evocompress.database.SparsityGrid;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelReference;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Everything a variant database build needs, read from a {@link JobConfig} (the whole build-db
 * configuration, or a section of another command's) and validated before Spark starts: the model
 * is opened and checked, every number is range-checked, and errors name the setting.
 *
 * <p>Keys: {@code model}, {@code output} (the database root, any Hadoop URI), {@code device},
 * {@code calibration.{data, sequences, seq-len, seed, shards, batch-size, hessian-dtype}}, {@code database.{domain,
 * target, max-level, delta, bits, group-size, symmetric, act-order, dampening, block-size,
 * value-bytes}}. Relative local paths are resolved against the working directory.
 *
 * @param shards    calibration shards (Spark tasks of the Hessian pass); fixed by the configuration,
 *                  never by the cluster's size, so every cluster sums the same partial sums
 * @param hessianFloat32 {@code calibration.hessian-dtype: float32}: the Hessian files store H in float32
 *                  (half the bytes; accumulated in float64 all the same); float64 by default
 */
public record BuildDbSettings(String model, String output, String device, String data, int sequences, int seqLen,
                              long seed, int shards, int batchSize, CompressorSettings compressor, boolean hessianFloat32,
                              ResidencySettings residency)
    implements Serializable {

    public static final String FLOAT32 = "float32";

    /** Hessians stored in float64. */
    public BuildDbSettings(String model, String output, String device, String data, int sequences, int seqLen,
                           long seed, int shards, int batchSize, CompressorSettings compressor) {
        this(model, output, device, data, sequences, seqLen, seed, shards, batchSize, compressor, false);
    }

    /** The calibration pass with {@code evaluation.residency: auto}. */
    public BuildDbSettings(String model, String output, String device, String data, int sequences, int seqLen,
                           long seed, int shards, int batchSize, CompressorSettings compressor, boolean hessianFloat32) {
        this(model, output, device, data, sequences, seqLen, seed, shards, batchSize, compressor, hessianFloat32,
            ResidencySettings.AUTO);
    }

    /** The settings build-db knows, for {@link JobConfig#requireOnly}. */
    public static final Set<String> KEYS = Set.of("model", "output", "device",
        "calibration.data", "calibration.sequences", "calibration.seq-len", "calibration.seed", "calibration.shards",
        "calibration.batch-size", "calibration.hessian-dtype",
        "database.domain", "database.target", "database.max-level", "database.delta", "database.bits",
        "database.group-size", "database.symmetric", "database.act-order", "database.dampening", "database.block-size",
        "database.value-bytes", ResidencySettings.RESIDENCY, ResidencySettings.DEVICE_MEMORY);

    public static final int DEFAULT_SEQUENCES = 128;
    public static final int DEFAULT_SEQ_LEN = 2048;
    public static final int DEFAULT_SHARDS = 4;
    public static final int DEFAULT_MAX_LEVEL = 8;
    public static final List<Integer> DEFAULT_BITS = List.of(2, 3, 4, 5, 6);
    public static final int DEFAULT_GROUP_SIZE = 128;
    /** Bounds on the settings that multiply work or storage. */
    public static final int MAX_LEVEL_LIMIT = 32;
    public static final int SEQUENCES_LIMIT = 1 << 20;
    public static final int SHARDS_LIMIT = 4096;

    /** Reads and validates build-db's settings (opens the model to check it and to size the default Delta). */
    public static BuildDbSettings from(JobConfig c) {
        c.requireOnly(KEYS);
        return from(c, ModelReference.resolve(c.string("model")));
    }

    /** As {@link #from(JobConfig)}, resolving the model through {@code models} ({@code plan}: config.json alone). */
    public static BuildDbSettings from(JobConfig c, io.evocompress.config.ModelConfigReader models) {
        c.requireOnly(KEYS);
        return from(c, models.read(c.string("model")));
    }

    /** As {@link #from(JobConfig)} for a model the command has resolved. */
    public static BuildDbSettings from(JobConfig c, ModelReference model) {
        c.requireOnly(KEYS);
        String output = c.outputLocation("output", model.location());
        int sequences = c.boundedIntOr("calibration.sequences", DEFAULT_SEQUENCES, 1, SEQUENCES_LIMIT,
            "every sequence is run through the model for the Hessians");
        int seqLen = c.intOr("calibration.seq-len", Math.min(DEFAULT_SEQ_LEN, model.config().maxPositionEmbeddings()));
        long seed = c.integerOr("calibration.seed", 0);
        boolean hessianFloat32 = c.choice("calibration.hessian-dtype", "float64", Set.of("float64", FLOAT32)).equals(FLOAT32);
        String domain = c.choice("database.domain", CompressorSettings.SPARSITY,
            Set.of(CompressorSettings.SPARSITY, CompressorSettings.BITS));
        double target = domain.equals(CompressorSettings.SPARSITY) ? c.number("database.target") : Double.NaN;
        return read(c, model, output, domain, target, sequences, seqLen, seed, hessianFloat32);
    }

    /**
     * The database of a search or schedule configuration: its {@code database.path} is the output, the
     * domain and target are the search's, calibration sequences, length and seed the search's own (already
     * checked), the other {@code calibration.*} and {@code database.*} settings read from {@code c}.
     */
    public static BuildDbSettings forSearch(JobConfig c, ModelReference model, String domain, double target, int sequences,
                                            int seqLen, long seed) {
        String output = c.outputLocation("database.path", model.location());
        if (sequences > SEQUENCES_LIMIT) {
            throw new EvocompressException("Setting 'calibration.sequences' in " + c.source() + " must be in [1, "
                + SEQUENCES_LIMIT + "] (every sequence is run through the model for the Hessians), but was " + sequences);
        }
        return read(c, model, output, domain, target, sequences, seqLen, seed, false);
    }

    private static BuildDbSettings read(JobConfig c, ModelReference model, String output, String domain, double target,
                                        int sequences, int seqLen, long seed, boolean hessianFloat32) {
        String device = c.stringOr("device", "auto");
        if (!device.matches("auto|cpu|gpu(:\\d+)?")) {
            throw new EvocompressException("Setting 'device' in " + c.source() + " must be auto, cpu, gpu or gpu:N, but was '"
                + device + "'");
        }
        String data = c.string("calibration.data");
        ModelConfig config = model.config();
        model.checkTensors();
        HadoopFiles.fileSystem(HadoopFiles.path(output), HadoopFiles.defaultConf());
        if (seqLen < 2 || seqLen > config.maxPositionEmbeddings()) {
            throw new EvocompressException("Setting 'calibration.seq-len' in " + c.source() + " must be in [2, "
                + config.maxPositionEmbeddings() + "] (the model's context), but was " + seqLen);
        }
        int shards = c.boundedIntOr("calibration.shards", Math.min(DEFAULT_SHARDS, sequences), 1, SHARDS_LIMIT,
            "each shard writes a partial Hessian per block input");
        if (shards > sequences) {
            throw new EvocompressException("Setting 'calibration.shards' in " + c.source() + " (" + shards
                + ") must not exceed calibration.sequences (" + sequences + "): every shard needs a sequence.");
        }
        int batchSize = c.positiveIntOr("calibration.batch-size", 8);

        double dampening = c.numberOr("database.dampening", 0.01);
        if (!(dampening >= 0) || Double.isInfinite(dampening)) {
            throw new EvocompressException("Setting 'database.dampening' in " + c.source() + " must be >= 0, but was " + dampening);
        }
        int blockSize = c.positiveIntOr("database.block-size", 128);
        CompressorSettings compressor;
        if (domain.equals(CompressorSettings.SPARSITY)) {
            for (String k : List.of("bits", "group-size", "symmetric", "act-order")) {
                if (c.has("database." + k)) {
                    throw new EvocompressException("Setting 'database." + k + "' in " + c.source()
                        + " applies to the bits domain, but database.domain is sparsity: remove it.");
                }
            }
            if (!(target > 0 && target < 1)) {
                throw new EvocompressException("Setting 'database.target' in " + c.source()
                    + " must be a sparsity in (0, 1), but was " + target);
            }
            int maxLevel = c.boundedIntOr("database.max-level", DEFAULT_MAX_LEVEL, 0, MAX_LEVEL_LIMIT,
                "levels -L..L are 2L+1 variant files per layer, each built and stored");
            SparsityGrid grid = c.has("database.delta")
                ? new SparsityGrid(target, maxLevel, positiveDelta(c))
                : SparsityGrid.withDefaultStep(target, maxLevel, config.hiddenSize());
            int valueBytes = c.intOr("database.value-bytes", 2);
            if (valueBytes != 2 && valueBytes != 4) {
                throw new EvocompressException("Setting 'database.value-bytes' in " + c.source()
                    + " must be 2 (fp16 values) or 4 (fp32), but was " + valueBytes);
            }
            compressor = CompressorSettings.sparsity(grid, dampening, blockSize, valueBytes);
        } else {
            for (String k : List.of("target", "max-level", "delta", "value-bytes")) {
                if (c.has("database." + k)) {
                    throw new EvocompressException("Setting 'database." + k + "' in " + c.source()
                        + " applies to the sparsity domain, but database.domain is bits: remove it.");
                }
            }
            List<Integer> bits = new ArrayList<>();
            for (JsonNode n : c.list("database.bits")) {
                if (!n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() < 2 || n.asInt() > 8) {
                    throw new EvocompressException("Setting 'database.bits' in " + c.source()
                        + " must list bit widths in [2, 8], but holds " + n);
                }
                bits.add(n.asInt());
            }
            if (bits.isEmpty()) {
                bits = DEFAULT_BITS;
            }
            int groupSize = c.intOr("database.group-size", DEFAULT_GROUP_SIZE);
            if (groupSize < 0) {
                throw new EvocompressException("Setting 'database.group-size' in " + c.source()
                    + " must be 0 (per channel) or positive, but was " + groupSize);
            }
            if (groupSize > 0 && blockSize % groupSize != 0) {
                throw new EvocompressException("Setting 'database.group-size' in " + c.source() + " (" + groupSize
                    + ") must divide database.block-size (" + blockSize + ").");
            }
            boolean actOrder = c.boolOr("database.act-order", false);
            if (actOrder && groupSize > 0) {
                throw new EvocompressException("Setting 'database.act-order' in " + c.source() + " needs per-channel grids "
                    + "(database.group-size: 0): the variant format stores groups as consecutive columns.");
            }
            compressor = CompressorSettings.bits(bits, groupSize, c.boolOr("database.symmetric", false), actOrder,
                dampening, blockSize);
        }
        return new BuildDbSettings(model.location(), output, device, data, sequences, seqLen, seed, shards, batchSize, compressor,
            hessianFloat32, ResidencySettings.from(c));
    }

    private static long positiveDelta(JobConfig c) {
        long v = c.integer("database.delta");
        c.require(v >= 1, "database.delta", "at least 1", v);
        return v;
    }
}
