package io.evocompress.model;

import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.TensorInfo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every tensor a config implies, in checkpoint order, with its shape: the contract between a
 * config.json and its safetensors files. Names are the family's own ({@link Architecture}); a fused
 * tensor ({@link FusedLinear}) appears once, under its checkpoint name, and {@link #split} /
 * {@link #fuse} convert between it and its parts (the units a model, a database and a profile name).
 */
public final class TensorLayout {
    private final Map<String, long[]> shapes;
    private final Map<String, Fusion> fusions;        // checkpoint name -> how it splits
    private final Map<String, String> fusedByPart;    // part tensor name -> checkpoint name

    /** A fused checkpoint tensor: its parts' tensor names, rows, and columns (1 for a bias). */
    private record Fusion(FusedLinear fused, List<String> parts, int[] rows, int columns, int headDim) {
    }

    private TensorLayout(Map<String, long[]> shapes, Map<String, Fusion> fusions) {
        this.shapes = Collections.unmodifiableMap(shapes);
        this.fusions = Collections.unmodifiableMap(fusions);
        Map<String, String> byPart = new LinkedHashMap<>();
        fusions.forEach((name, f) -> f.parts().forEach(part -> byPart.put(part, name)));
        this.fusedByPart = Collections.unmodifiableMap(byPart);
    }

    public static TensorLayout of(ModelConfig config) {
        return of(config, LayerShapes.dense(config));
    }

    /** The layout of a structurally pruned model: per-layer shapes ({@link LayerShapes}). */
    public static TensorLayout of(ModelConfig config, java.util.List<BlockShape> blockShapes) {
        Architecture arch = ArchitectureRegistry.forType(config.modelType(), "config");
        ForwardSpec f = config.forward();
        Map<String, long[]> s = new LinkedHashMap<>();
        Map<String, Fusion> fusions = new LinkedHashMap<>();
        int h = config.hiddenSize();
        int e = config.embedDim();
        s.put(arch.embedTokens(), new long[] {config.vocabSize(), e});
        if (f.positions() == ForwardSpec.Positions.LEARNED) {
            s.put(arch.positionEmbeddings(), new long[] {config.maxPositionEmbeddings() + f.positionOffset(), h});
        }
        if (f.embedProjDim() > 0) {
            s.put(arch.projectIn(), new long[] {h, e});
        }
        if (f.embedNorm()) {
            norm(s, arch.embedNormStem(), h, f);
        }
        for (int layer = 0; layer < config.numLayers(); layer++) {
            String p = arch.blockPrefix(layer);
            BlockShape shape = blockShapes.get(layer);
            norm(s, p + arch.attentionNorm(), h, f);
            for (LinearName name : arch.linears(config)) {
                FusedLinear fused = arch.fusedOf(name);
                if (fused == null) {
                    long[] w = shape.shape(name, config);
                    s.put(p + arch.linearPath(name) + ".weight", w);
                    if (name.hasBias(config)) {
                        s.put(p + arch.linearPath(name) + ".bias", new long[] {w[0]});
                    }
                } else if (fused.parts().get(0) == name) {
                    int[] rows = new int[fused.parts().size()];
                    long total = 0;
                    for (int i = 0; i < rows.length; i++) {
                        rows[i] = Math.toIntExact(shape.shape(fused.parts().get(i), config)[0]);
                        total += rows[i];
                    }
                    int columns = Math.toIntExact(shape.shape(name, config)[1]);
                    String base = p + fused.path();
                    s.put(base + ".weight", new long[] {total, columns});
                    fusions.put(base + ".weight", new Fusion(fused, partNames(arch, p, fused, ".weight"), rows, columns,
                        config.headDim()));
                    if (name.hasBias(config)) {
                        s.put(base + ".bias", new long[] {total});
                        fusions.put(base + ".bias", new Fusion(fused, partNames(arch, p, fused, ".bias"), rows, 1,
                            config.headDim()));
                    }
                }
            }
            norm(s, p + arch.mlpNorm(), h, f);
        }
        if (f.finalNorm()) {
            norm(s, arch.finalNormStem(), h, f);
        }
        if (f.embedProjDim() > 0) {
            s.put(arch.projectOut(), new long[] {e, h});
        }
        if (!config.tieWordEmbeddings()) {
            s.put(arch.lmHead(), new long[] {config.vocabSize(), e});
        }
        return new TensorLayout(s, fusions);
    }

    /**
     * The fusion of a tensor, checked to be storable: BLOOM's per-head layout needs as many query as
     * key/value heads, which a structurally pruned block no longer has.
     */
    private Fusion fitting(String fusedName) {
        Fusion f = fusions.get(fusedName);
        if (!f.fused().fits(f.rows(), f.headDim())) {
            throw new EvocompressException(fusedName + ": its parts have rows " + Arrays.toString(f.rows())
                + ", which the family's per-head fused layout cannot store (a structurally pruned block of this family "
                + "can be written in the dense, zero-padded layout only).");
        }
        return f;
    }

    private static List<String> partNames(Architecture arch, String prefix, FusedLinear fused, String suffix) {
        List<String> out = new ArrayList<>();
        for (LinearName part : fused.parts()) {
            out.add(prefix + arch.linearPath(part) + suffix);
        }
        return out;
    }

    private static void norm(Map<String, long[]> s, String stem, int h, ForwardSpec f) {
        s.put(stem + ".weight", new long[] {h});
        if (f.hasNormBias()) {
            s.put(stem + ".bias", new long[] {h});
        }
    }

    /**
     * name -> shape by unit: the checkpoint's tensors with each fused one replaced by its parts (the
     * names {@link CausalLm#parameters} and the in-memory {@link ModelLoader#load(String, String,
     * java.util.function.Function, ai.djl.Device, ai.djl.ndarray.types.DataType)} use). The same as
     * {@link #shapes} for families without fused tensors.
     */
    public Map<String, long[]> unitShapes() {
        Map<String, long[]> out = new LinkedHashMap<>();
        shapes.forEach((name, shape) -> {
            Fusion f = fusions.get(name);
            if (f == null) {
                out.put(name, shape);
            } else {
                f.parts().forEach(part -> out.put(part, partShape(part)));
            }
        });
        return out;
    }

    /** The shape of a tensor by unit name: a checkpoint tensor's, or a fused part's. */
    public long[] unitShape(String name) {
        return fusedByPart.containsKey(name) ? partShape(name) : shapes.get(name);
    }

    /**
     * Reads tensors by unit name from a reader of checkpoint tensors: a fused part is cut from its
     * tensor (read once; its other parts kept until asked for), every other name read as it is.
     */
    public java.util.function.Function<String, float[]> unitReader(java.util.function.Function<String, float[]> checkpoint) {
        Map<String, float[]> pending = new java.util.HashMap<>();
        return name -> {
            String fused = fusedByPart.get(name);
            if (fused == null) {
                return checkpoint.apply(name);
            }
            if (!pending.containsKey(name)) {
                pending.putAll(split(fused, checkpoint.apply(fused)));
            }
            return pending.remove(name);
        };
    }

    /**
     * A tensor of a checkpoint by unit name: as stored, or cut from the fused tensor that holds it
     * (e.g. {@code model.layers.0.self_attn.qkv_proj.q.weight} from {@code ...qkv_proj.weight}).
     */
    public static float[] readUnit(CheckpointReader checkpoint, String name) {
        return readUnit(checkpoint, name, checkpoint::readFloat);
    }

    /** As {@link #readUnit(CheckpointReader, String)}, reading checkpoint tensors (by checkpoint name) with {@code read}. */
    public static float[] readUnit(CheckpointReader checkpoint, String name, java.util.function.Function<String, float[]> read) {
        if (checkpoint.has(name)) {
            return read.apply(name);
        }
        TensorLayout layout = of(ModelLoader.config(checkpoint), checkpoint);
        String fused = layout.fusedTensorOf(name);
        if (fused == null) {
            return read.apply(name);   // the reader's own error names the missing tensor
        }
        return layout.split(fused, read.apply(fused)).get(name);
    }

    /** Every tensor of a dense checkpoint by unit name (fused tensors split into their parts). */
    public static Map<String, float[]> readUnits(CheckpointReader checkpoint) {
        return readUnits(checkpoint, checkpoint::readFloat);
    }

    /**
     * As {@link #readUnits(CheckpointReader)}, reading checkpoint tensors (by checkpoint name) with {@code read}
     * (e.g. {@link io.evocompress.database.DenseTensorCheck#reader}).
     */
    public static Map<String, float[]> readUnits(CheckpointReader checkpoint, java.util.function.Function<String, float[]> read) {
        TensorLayout layout = of(ModelLoader.config(checkpoint), checkpoint);
        java.util.function.Function<String, float[]> units = layout.unitReader(read);
        Map<String, float[]> out = new LinkedHashMap<>();
        for (String name : layout.unitShapes().keySet()) {
            out.put(name, units.apply(name));
        }
        return out;
    }

    /** The shape of a checkpoint's tensor by unit name (see {@link #readUnit}). */
    public static long[] unitShape(CheckpointReader checkpoint, String name) {
        if (checkpoint.has(name)) {
            return checkpoint.info(name).shape();
        }
        TensorLayout layout = of(ModelLoader.config(checkpoint), checkpoint);
        return layout.fusedTensorOf(name) == null ? checkpoint.info(name).shape() : layout.partShape(name);
    }

    /** Whether {@code name} is a fused checkpoint tensor. */
    public boolean isFused(String name) {
        return fusions.containsKey(name);
    }

    /** The fused checkpoint tensor a part's tensor (e.g. {@code ...qkv_proj.q.weight}) lives in, or null. */
    public String fusedTensorOf(String partName) {
        return fusedByPart.get(partName);
    }

    /** The tensor names of a fused tensor's parts, in row order. */
    public List<String> parts(String fusedName) {
        return fusions.get(fusedName).parts();
    }

    /** [out, in] (or [out] for a bias) of a part's tensor. */
    public long[] partShape(String partName) {
        Fusion f = fusions.get(fusedByPart.get(partName));
        int i = f.parts().indexOf(partName);
        return partName.endsWith(".bias") ? new long[] {f.rows()[i]} : new long[] {f.rows()[i], f.columns()};
    }

    /** The parts of a fused tensor's values, by part tensor name. */
    public Map<String, float[]> split(String fusedName, float[] values) {
        Fusion f = fitting(fusedName);
        float[][] parts = f.fused().split(values, f.rows(), f.columns(), f.headDim());
        Map<String, float[]> out = new LinkedHashMap<>();
        for (int i = 0; i < parts.length; i++) {
            out.put(f.parts().get(i), parts[i]);
        }
        return out;
    }

    /**
     * Per-row arrays of a fused tensor's parts (e.g. quantization codes [rows, cols] or scales
     * [rows, groups]) stacked the way the fused tensor stacks its rows; {@code parts} in part order.
     */
    public float[] fuseRows(String fusedName, float[][] parts, int columns) {
        Fusion f = fitting(fusedName);
        return f.fused().fuse(parts, f.rows(), columns, f.headDim());
    }

    /** One fused checkpoint tensor from its parts, read by part tensor name. */
    public float[] fuse(String fusedName, java.util.function.Function<String, float[]> part) {
        Fusion f = fitting(fusedName);
        float[][] parts = new float[f.parts().size()][];
        for (int i = 0; i < parts.length; i++) {
            parts[i] = part.apply(f.parts().get(i));
        }
        return f.fused().fuse(parts, f.rows(), f.columns(), f.headDim());
    }

    /**
     * The checkpoint's tensors from tensors named by unit (a model's {@link CausalLm#parameters}):
     * parts fused into their checkpoint tensor, every other tensor passed through, in layout order.
     */
    public Map<String, float[]> fuse(Map<String, float[]> byUnit) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (String name : shapes.keySet()) {
            Fusion f = fusions.get(name);
            if (f == null) {
                if (byUnit.containsKey(name)) {
                    out.put(name, byUnit.get(name));
                }
                continue;
            }
            fitting(name);
            float[][] parts = new float[f.parts().size()][];
            for (int i = 0; i < parts.length; i++) {
                parts[i] = byUnit.get(f.parts().get(i));
                if (parts[i] == null) {
                    throw new EvocompressException("Cannot write " + name + ": its part " + f.parts().get(i) + " is missing.");
                }
            }
            out.put(name, f.fused().fuse(parts, f.rows(), f.columns(), f.headDim()));
        }
        return out;
    }

    /** The layout a checkpoint's config.json implies, per-layer shapes included ({@link LayerShapes}). */
    public static TensorLayout of(ModelConfig config, CheckpointReader checkpoint) {
        return of(config, LayerShapes.parse(checkpoint.configJson(), config, checkpoint.dir() + "/config.json"));
    }

    /** name -> shape, in checkpoint order. */
    public Map<String, long[]> shapes() {
        return shapes;
    }

    public long[] shape(String name) {
        return shapes.get(name);
    }

    /**
     * Checks that the checkpoint holds every tensor with the right shape, without reading any data
     * (weights it declares packed, {@link io.evocompress.checkpoint.PackedWeights}, are checked when read);
     * the error names the file, the tensor and both shapes.
     */
    public void check(CheckpointReader checkpoint) {
        io.evocompress.checkpoint.PackedWeights packed = io.evocompress.checkpoint.PackedWeights.of(checkpoint);
        check(checkpoint, packed == null ? name -> false : packed::covers);
    }

    /** As {@link #check(CheckpointReader)}, skipping the tensors {@code packed} says are stored packed (checked on read). */
    public void check(CheckpointReader checkpoint, java.util.function.Predicate<String> packed) {
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            String name = e.getKey();
            if (packed.test(name)) {
                continue;
            }
            if (!checkpoint.has(name)) {
                throw new EvocompressException("Checkpoint " + checkpoint.dir() + " is missing tensor '"
                    + checkpoint.naming().stored(name) + "' (expected shape " + Arrays.toString(e.getValue())
                    + " for its config.json).");
            }
            TensorInfo info = checkpoint.info(name);
            if (!Arrays.equals(info.shape(), e.getValue())) {
                throw new EvocompressException(checkpoint.file(name).path() + ": tensor '" + info.name() + "' has shape "
                    + info.shapeString() + " but config.json implies " + Arrays.toString(e.getValue()) + ".");
            }
            if (!info.dtype().isFloating()) {
                throw new EvocompressException(checkpoint.file(name).path() + ": tensor '" + info.name() + "' has dtype "
                    + info.dtype() + "; weights must be F32, F16 or BF16.");
            }
        }
    }
}
