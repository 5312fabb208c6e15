package io.evocompress.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.PackedWeights;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Loads a {@link CausalLm} from a checkpoint onto a device, tensor by tensor, checking every tensor's
 * presence and shape against the config (errors name the file, the tensor and both shapes). Linear
 * weights a checkpoint stores packed ({@link PackedWeights}: compressed-tensors pack-quantized or
 * evocompress-int4, declared in config.json's {@code quantization_config}) are dequantized to float32
 * on load.
 */
public final class ModelLoader {
    private ModelLoader() {
    }

    /** Parses the checkpoint's config.json with the registry and checks its block count against the tensors ({@link BlockCount}). */
    public static ModelConfig config(CheckpointReader checkpoint) {
        ModelConfig config = ArchitectureRegistry.parseConfig(checkpoint.configJson(), checkpoint.dir() + "/config.json");
        BlockCount.check(config, checkpoint);
        return config;
    }

    /**
     * The model of a checkpoint on {@code device} in {@code dtype}. A tensor larger than one slice
     * ({@link RowSlices}: BLOOM-176B's embedding, which fits no Java array) is read in row slices onto the
     * device; the others whole.
     */
    public static CausalLm load(CheckpointReader checkpoint, Device device, DataType dtype) {
        return load(checkpoint, device, dtype, io.evocompress.database.DenseTensorCheck.none());
    }

    /**
     * As {@link #load(CheckpointReader, Device, DataType)}, every tensor {@code check} has a record for
     * hashed as it is read (whole or in row slices) and checked against a variant database's record.
     */
    public static CausalLm load(CheckpointReader checkpoint, Device device, DataType dtype,
                                io.evocompress.database.DenseTensorCheck check) {
        ModelConfig config = config(checkpoint);
        List<BlockShape> shapes = LayerShapes.parse(checkpoint.configJson(), config, checkpoint.dir() + "/config.json");
        TensorLayout layout = TensorLayout.of(config, shapes);
        return load(config, shapes, layout.unitReader(checked(layout::shape,
                checkpointTensors(checkpoint, layout, check.reader(checkpoint)))),
            slicedTensors(checkpoint, layout), (name, sink) -> check.readRows(checkpoint, name, sink), device, dtype);
    }

    /**
     * The tensors, by unit name, read in row slices ({@link RowSlices#sliced}): stored in the checkpoint as
     * they are (neither packed nor a fused tensor's part, which are read whole) and larger than one slice.
     */
    static java.util.function.Predicate<String> slicedTensors(CheckpointReader checkpoint, TensorLayout layout) {
        PackedWeights packed = PackedWeights.of(checkpoint);
        return name -> checkpoint.has(name) && !(packed != null && packed.covers(name)) && layout.shape(name) != null
            && RowSlices.sliced(layout.shape(name));
    }

    /**
     * Reads a checkpoint's tensors by checkpoint name in float32 (packed weights dequantized), after
     * checking every tensor's presence and shape against {@code layout}.
     */
    static java.util.function.Function<String, float[]> checkpointTensors(CheckpointReader checkpoint, TensorLayout layout) {
        return checkpointTensors(checkpoint, layout, checkpoint::readFloat);
    }

    /** As {@link #checkpointTensors(CheckpointReader, TensorLayout)}, unpacked tensors read by {@code read}. */
    static java.util.function.Function<String, float[]> checkpointTensors(CheckpointReader checkpoint, TensorLayout layout,
                                                                          java.util.function.Function<String, float[]> read) {
        PackedWeights packed = PackedWeights.of(checkpoint);
        layout.check(checkpoint, packed == null ? n -> false : packed::covers);
        return name -> {
            if (packed != null && packed.covers(name)) {
                long[] shape = layout.shape(name);
                return packed.dequantize(name, Math.toIntExact(shape[0]), Math.toIntExact(shape[1]));
            }
            return read.apply(name);
        };
    }

    /**
     * Builds a model from weights in memory (e.g. a candidate stitched from a structured database):
     * {@code tensors} maps each tensor name of the layout by unit ({@link TensorLayout#unitShapes}:
     * fused layers by part) to its row-major float32 values.
     */
    public static CausalLm load(String configJson, String where, java.util.function.Function<String, float[]> tensors,
                                Device device, DataType dtype) {
        ModelConfig config = ArchitectureRegistry.parseConfig(configJson, where);
        List<BlockShape> shapes = LayerShapes.parse(configJson, config, where);
        TensorLayout layout = TensorLayout.of(config, shapes);
        return load(config, shapes, checked(layout::unitShape, tensors), name -> false, null, device, dtype);
    }

    /** The source with every tensor's size checked against its shape in the layout. */
    static java.util.function.Function<String, float[]> checked(java.util.function.Function<String, long[]> shapes,
                                                                         java.util.function.Function<String, float[]> source) {
        return name -> {
            float[] values = source.apply(name);
            long numel = java.util.Arrays.stream(shapes.apply(name)).reduce(1, (a, b) -> a * b);
            if (values == null || values.length != numel) {
                throw new io.evocompress.EvocompressException("Tensor '" + name + "' holds "
                    + (values == null ? "nothing" : values.length + " values") + ", expected shape "
                    + java.util.Arrays.toString(shapes.apply(name)));
            }
            return values;
        };
    }

    private static CausalLm load(ModelConfig config, List<BlockShape> shapes,
                                 java.util.function.Function<String, float[]> source,
                                 java.util.function.Predicate<String> sliced, RowSlices.Source slices,
                                 Device device, DataType dtype) {
        // source: tensors by unit name (fused layers by part), sizes already checked
        Architecture arch = ArchitectureRegistry.forType(config.modelType(), "config.json");
        TensorLayout layout = TensorLayout.of(config, shapes);
        java.util.function.Function<String, float[]> units = source;
        java.util.function.Function<String, long[]> shapeOf = layout::unitShape;
        ForwardSpec f = config.forward();
        double eps = config.rmsNormEps();
        NDManager manager = NDManager.newBaseManager(device);
        try {
            Loader l = new Loader(units, shapeOf, manager, dtype, sliced, slices);
            NDArray embed = l.tensor(arch.embedTokens());
            CausalLm.Extras extras = new CausalLm.Extras(
                f.positions() == ForwardSpec.Positions.LEARNED ? l.tensor(arch.positionEmbeddings()) : null,
                f.embedProjDim() > 0 ? l.tensor(arch.projectIn()) : null,
                f.embedProjDim() > 0 ? l.tensor(arch.projectOut()) : null,
                f.embedNorm() ? l.norm(arch.embedNormStem(), f, eps) : null);
            List<DecoderBlock> blocks = new ArrayList<>();
            for (int layer = 0; layer < config.numLayers(); layer++) {
                blocks.add(block(l, arch, config, shapes.get(layer), layer));
            }
            NormLayer norm = f.finalNorm() ? l.norm(arch.finalNormStem(), f, eps) : null;
            NDArray head = config.tieWordEmbeddings() ? embed : l.tensor(arch.lmHead());
            return new CausalLm(config, manager, dtype, embed, extras, blocks, norm, head);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** Block {@code layer}'s weights read through {@code l}, in checkpoint order. */
    static DecoderBlock block(Loader l, Architecture arch, ModelConfig config, BlockShape shape, int layer) {
        ForwardSpec f = config.forward();
        double eps = config.rmsNormEps();
        String p = arch.blockPrefix(layer);
        Map<LinearName, LinearLayer> linears = new EnumMap<>(LinearName.class);
        for (LinearName name : arch.linears(config)) {
            String base = p + arch.linearPath(name);
            NDArray w = l.tensor(base + ".weight");
            NDArray b = name.hasBias(config) ? l.tensor(base + ".bias") : null;
            linears.put(name, new LinearLayer(w, b));
        }
        NormLayer attnNorm = l.norm(p + arch.attentionNorm(), f, eps);
        NormLayer mlpNorm = l.norm(p + arch.mlpNorm(), f, eps);
        return new DecoderBlock(config, shape, attnNorm, mlpNorm, linears);
    }

    /**
     * Reads (already checked) tensors onto one manager in the compute dtype: those {@code sliced} names through
     * {@code slices}, row slice by row slice into one device array (each slice converted to the compute dtype
     * as the whole tensor would be, so the values are the same bit for bit), the others whole from {@code source}.
     */
    record Loader(java.util.function.Function<String, float[]> source, java.util.function.Function<String, long[]> shapes,
                  NDManager manager, DataType dtype, java.util.function.Predicate<String> sliced, RowSlices.Source slices) {
        Loader(java.util.function.Function<String, float[]> source, java.util.function.Function<String, long[]> shapes,
               NDManager manager, DataType dtype) {
            this(source, shapes, manager, dtype, name -> false, null);
        }

        NDArray tensor(String name) {
            if (slices != null && sliced.test(name)) {
                return slicedTensor(name);
            }
            NDArray array = manager.create(source.apply(name), new Shape(shapes.apply(name)));
            if (dtype == DataType.FLOAT32) {
                return array;
            }
            NDArray converted = array.toType(dtype, false);
            array.close();
            return converted;
        }

        private NDArray slicedTensor(String name) {
            long[] shape = shapes.apply(name);
            NDArray out = manager.zeros(new Shape(shape), dtype);
            try {
                slices.read(name, (row0, rows, values) -> {
                    long[] part = shape.clone();
                    part[0] = rows;
                    ai.djl.ndarray.index.NDIndex at = new ai.djl.ndarray.index.NDIndex(row0 + ":" + (row0 + rows));
                    try (NDArray slice = manager.create(values, new Shape(part))) {
                        if (dtype == DataType.FLOAT32) {
                            out.set(at, slice);
                        } else {
                            try (NDArray converted = slice.toType(dtype, false)) {
                                out.set(at, converted);
                            }
                        }
                    }
                });
                return out;
            } catch (RuntimeException e) {
                out.close();
                throw e;
            }
        }

        NormLayer norm(String stem, ForwardSpec f, double eps) {
            return new NormLayer(f.norm(), eps, tensor(stem + ".weight"), f.hasNormBias() ? tensor(stem + ".bias") : null);
        }
    }
}
