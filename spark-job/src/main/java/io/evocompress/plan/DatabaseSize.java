package io.evocompress.plan;

import io.evocompress.builddb.BuildDbSettings;
import io.evocompress.builddb.LayerTaskMemory;
import io.evocompress.calibration.InputGroup;
import io.evocompress.database.CompressorSettings;
import io.evocompress.database.DatabaseManifest;
import io.evocompress.database.LayerVariant;
import io.evocompress.model.Architecture;
import io.evocompress.model.ArchitectureRegistry;
import io.evocompress.model.LinearName;
import io.evocompress.model.ModelConfig;
import io.evocompress.structured.StructureGroup;
import io.evocompress.structured.StructuredGrid;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What a database build writes, in bytes, from the config and the compressor settings: every variant
 * file in its {@link io.evocompress.database.VariantCodec} layout (exact: a sparse level stores a
 * bitmask and its non-zeros, a bit width its packed codes, fp16 scales and packed zeros), the Hessians
 * ({@link io.evocompress.calibration.HessianFile}: one per block and input group, n^2 values in float64
 * or float32 plus n sums of squares), and the layer records and manifest (JSON, estimated at
 * {@value #RECORD_BYTES_PER_LEVEL} bytes per level and {@value #RECORD_BYTES_PER_LAYER} per layer).
 * With a finished database's manifest the variant bytes are the manifest's own.
 *
 * @param variantBytes  the variant files
 * @param hessianBytes  hessians/
 * @param recordBytes   layer.json records and manifest.json
 * @param variants      variant files
 * @param fromManifest  whether variantBytes were read from a manifest
 */
public record DatabaseSize(long variantBytes, long hessianBytes, long recordBytes, int variants, boolean fromManifest) {
    static final int RECORD_BYTES_PER_LEVEL = 200;
    static final int RECORD_BYTES_PER_LAYER = 400;
    private static final int VARIANT_HEADER = 4 + 2 + 8 + 4;   // magic, version, kind, rows, cols, crc

    public long totalBytes() {
        return variantBytes + hessianBytes + recordBytes;
    }

    /** The variant database of build-db's settings (sparsity or bits). */
    public static DatabaseSize of(ModelConfig config, BuildDbSettings s) {
        Architecture arch = ArchitectureRegistry.forType(config.modelType(), "config.json");
        CompressorSettings c = s.compressor();
        long bytes = 0;
        int variants = 0;
        for (LinearName n : arch.linears(config)) {
            long[] shape = n.shape(config);
            int rows = Math.toIntExact(shape[0]);
            int cols = Math.toIntExact(shape[1]);
            for (int level : c.levels(rows, cols)) {
                bytes += variantBytes(c, rows, cols, level);
                variants++;
            }
        }
        long layers = (long) arch.linears(config).size() * config.numLayers();
        return new DatabaseSize(bytes * config.numLayers(), hessianBytes(config, s.hessianFloat32()),
            (long) variants * config.numLayers() * RECORD_BYTES_PER_LEVEL + layers * RECORD_BYTES_PER_LAYER,
            variants * config.numLayers(), false);
    }

    /** The same with the variant bytes a finished database's manifest records. */
    public static DatabaseSize of(ModelConfig config, BuildDbSettings s, DatabaseManifest manifest) {
        DatabaseSize planned = of(config, s);
        long bytes = manifest.totals().levels().stream().mapToLong(DatabaseManifest.LevelTotal::bytes).sum();
        return new DatabaseSize(bytes, planned.hessianBytes, planned.recordBytes, manifest.totals().variants(), true);
    }

    /** One variant file's bytes. */
    static long variantBytes(CompressorSettings c, int rows, int cols, int level) {
        long n = (long) rows * cols;
        if (c.isSparsity()) {
            long nonZeros = n - c.grid().zeros(n, level);
            return VARIANT_HEADER + 1 + 8 + (n + 7) / 8 + nonZeros * c.sparseValueBytes();
        }
        long groups = (long) rows * LayerVariant.Quantized.groups(cols, c.effectiveGroupSize(cols));
        return VARIANT_HEADER + 1 + 4 + 1 + (n * level + 7) / 8 + 2 * groups + (groups * level + 7) / 8;
    }

    /** DarwinLM's structured database: per block, unit and level, the pruned layer's kept columns in float32. */
    public static DatabaseSize structured(ModelConfig config, StructuredGrid grid) {
        long bytes = 0;
        int variants = 0;
        for (StructureGroup g : StructureGroup.values()) {
            long[] shape = g.prunedLayer().shape(config);
            for (int removed : grid.removedCounts(g, config)) {
                long kept = shape[0] * (shape[1] - (long) removed * g.width(config));
                bytes += 4 * 6 + 4L * removed + 8 + 4 * kept + 8;
                variants++;
            }
        }
        return new DatabaseSize(bytes * config.numLayers(), hessianBytes(config, false),
            (long) variants * config.numLayers() * RECORD_BYTES_PER_LEVEL, variants * config.numLayers(), false);
    }

    /** hessians/: one file per block and distinct input. */
    static long hessianBytes(ModelConfig config, boolean float32) {
        long perBlock = 0;
        for (int n : inputWidths(config)) {
            perBlock += 4 + 1 + 4 + 8 + (float32 ? 4L : 8L) * n * n + 8L * n + 4;
        }
        return perBlock * config.numLayers();
    }

    private static List<Integer> inputWidths(ModelConfig config) {
        Set<InputGroup> groups = new LinkedHashSet<>();
        for (LinearName n : ArchitectureRegistry.forType(config.modelType(), "config.json").linears(config)) {
            groups.add(InputGroup.of(n));
        }
        return groups.stream().map(g -> Math.toIntExact(g.reporter().shape(config)[1])).toList();
    }

    /** build-db's widest layer task ({@link LayerTaskMemory}, as the build prints before it starts). */
    public static LayerTaskMemory layerTask(ModelConfig config, boolean hessianFloat32, boolean actOrder) {
        Architecture arch = ArchitectureRegistry.forType(config.modelType(), "config.json");
        LayerTaskMemory widest = null;
        for (InputGroup g : InputGroup.values()) {
            int n = 0;
            int rows = 0;
            for (LinearName l : g.members()) {
                if (arch.linears(config).contains(l)) {
                    rows = Math.max(rows, Math.toIntExact(l.shape(config)[0]));
                    n = Math.toIntExact(l.shape(config)[1]);
                }
            }
            if (n == 0) {
                continue;
            }
            LayerTaskMemory m = LayerTaskMemory.of("block 0 " + g.name().toLowerCase(Locale.ROOT) + " input", n, rows,
                hessianFloat32, actOrder);
            if (widest == null || m.heapBytes() > widest.heapBytes()) {
                widest = m;
            }
        }
        return widest;
    }
}
