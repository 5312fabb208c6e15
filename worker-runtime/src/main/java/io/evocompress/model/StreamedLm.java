package io.evocompress.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.SafetensorsFile;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;

import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A causal language model whose weights stay in the checkpoint: configuration (config.json, the tensor
 * layout), weights (read on demand through the JVM's {@link HostWeightCache}) and run state (the caller's
 * hidden states) apart. A forward runs stage by stage: the embeddings, then each block, then the head; each
 * stage's weights are read (or found in the cache), copied to the device, used on every batch the caller
 * holds, and freed before the next stage is loaded.
 *
 * <p>Device memory: one stage's weights (the largest of: the embedding tensors, one block, the head with its
 * LM head matrix, which for a tied model is the embedding matrix read again) plus the caller's activations
 * and one batch's temporaries (attention scores, logits). Host memory: the cache's budget plus the one
 * stage being copied; a tensor larger than one slice ({@link RowSlices}: BLOOM-176B's 3.6e9-value embedding,
 * which fits no Java array) is read and copied one row slice at a time, each slice its own cache entry
 * (what the budget holds of it is reused, the rest read again the next time a stage needs it). Each stage computes exactly what the resident {@link CausalLm} computes for it (the
 * same loader, the same block and head code), so a streamed forward gives the resident one's numbers bit
 * for bit.
 */
public final class StreamedLm implements AutoCloseable {
    private final CheckpointReader checkpoint;
    private final ModelConfig config;
    private final List<BlockShape> shapes;
    private final TensorLayout layout;
    private final Architecture arch;
    private final Function<String, float[]> checkpointTensors;  // by checkpoint name, through the cache
    private final java.util.function.Predicate<String> sliced;   // read in row slices (RowSlices), by unit name
    private final RowSlices.Source slices;                        // those, slice by slice through the cache
    private final Device device;
    private final DataType dtype;

    private StreamedLm(CheckpointReader checkpoint, Device device, DataType dtype, HostWeightCache cache,
                       io.evocompress.database.DenseTensorCheck check) {
        this.checkpoint = checkpoint;
        this.config = ModelLoader.config(checkpoint);
        this.shapes = LayerShapes.parse(checkpoint.configJson(), config, checkpoint.dir() + "/config.json");
        this.layout = TensorLayout.of(config, shapes);
        this.arch = ArchitectureRegistry.forType(config.modelType(), "config.json");
        this.device = device;
        this.dtype = dtype;
        Function<String, float[]> read = ModelLoader.checked(layout::shape,
            ModelLoader.checkpointTensors(checkpoint, layout, check.reader(checkpoint)));
        Map<SafetensorsFile, String> fileKeys = new HashMap<>();
        this.checkpointTensors = name -> {
            String file = fileKeys.computeIfAbsent(checkpoint.has(name) ? checkpoint.file(name) : null, this::fileKey);
            float[] values = cache.get(file + "|" + name, () -> read.apply(name));
            check.ensure(checkpoint, name);   // a cache hit: checked from the memo (or read once, hashed)
            return values;
        };
        this.sliced = ModelLoader.slicedTensors(checkpoint, layout);
        this.slices = (name, sink) -> {
            String file = fileKeys.computeIfAbsent(checkpoint.file(name), this::fileKey) + "|" + name + "|rows ";
            if (check.pending(checkpoint, name)) {
                // hashed as it is read: every slice from the file, each kept in the cache for the next stage
                check.readRows(checkpoint, name, (row0, rows, values) -> {
                    cache.get(file + row0 + "+" + rows, () -> values);
                    sink.accept(row0, rows, values);
                });
                return;
            }
            check.ensure(checkpoint, name);   // unrecorded, or checked from the memo
            long total = layout.shape(name)[0];
            int step = RowSlices.rowsPerSlice(layout.shape(name));
            for (long r0 = 0; r0 < total; r0 += step) {
                long row0 = r0;
                int n = (int) Math.min(step, total - r0);
                sink.accept(row0, n, cache.get(file + row0 + "+" + n, () -> checkpoint.readRows(name, row0, n, null)));
            }
        };
    }

    /** Opens the checkpoint at {@code location} (checked as {@link ModelLoader#load} checks it) for a streamed forward. */
    public static StreamedLm open(String location, Configuration conf, Device device, DataType dtype, HostWeightCache cache) {
        return open(location, conf, device, dtype, cache, io.evocompress.database.DenseTensorCheck.none());
    }

    /**
     * As {@link #open(String, Configuration, Device, DataType, HostWeightCache)}, every tensor used checked by
     * {@code check} (hashed where it is read from the file) against a variant database's record.
     */
    public static StreamedLm open(String location, Configuration conf, Device device, DataType dtype, HostWeightCache cache,
                                  io.evocompress.database.DenseTensorCheck check) {
        CheckpointReader reader = CheckpointReader.open(HadoopFiles.path(location), conf);
        try {
            return new StreamedLm(reader, device, dtype, cache, check);
        } catch (RuntimeException e) {
            reader.close();
            throw e;
        }
    }

    /** The cache key of a tensor file: its path, length and modification time (a rewritten checkpoint is read anew). */
    private String fileKey(SafetensorsFile file) {
        org.apache.hadoop.fs.Path path = file == null ? checkpoint.dir() : file.path();
        try {
            FileStatus st = checkpoint.fileSystem().getFileStatus(path);
            return path + "@" + st.getLen() + "/" + st.getModificationTime();
        } catch (IOException e) {
            return path.toString();
        }
    }

    public ModelConfig config() {
        return config;
    }

    public List<BlockShape> blockShapes() {
        return shapes;
    }

    public int numBlocks() {
        return config.numLayers();
    }

    public Device device() {
        return device;
    }

    public DataType dtype() {
        return dtype;
    }

    /** Where the weights are read from. */
    public String location() {
        return checkpoint.dir().toString();
    }

    /**
     * The embedding stage alone: a model holding the token embeddings and the family's extras before the
     * blocks (learned positions, project_in, the embedding norm); use its {@link CausalLm#embed}. Close it to
     * free its weights.
     */
    public CausalLm embedding() {
        return stage(l -> {
            ForwardSpec f = config.forward();
            NDArray embed = l.tensor(arch.embedTokens());
            CausalLm.Extras extras = new CausalLm.Extras(
                f.positions() == ForwardSpec.Positions.LEARNED ? l.tensor(arch.positionEmbeddings()) : null,
                f.embedProjDim() > 0 ? l.tensor(arch.projectIn()) : null,
                null,
                f.embedNorm() ? l.norm(arch.embedNormStem(), f, config.rmsNormEps()) : null);
            return new CausalLm(config, l.manager(), dtype, embed, extras, List.of(), null, null);
        });
    }

    /** Block {@code index} alone, as a one-block model: run it with {@code runBlocks(hidden, 0, 1)}. Close it to free its weights. */
    public CausalLm block(int index) {
        if (index < 0 || index >= config.numLayers()) {
            throw new IllegalArgumentException("Block index " + index + " outside [0, " + config.numLayers() + ")");
        }
        return stage(l -> new CausalLm(config, l.manager(), dtype, null, CausalLm.Extras.none(),
            List.of(ModelLoader.block(l, arch, config, shapes.get(index), index)), null, null));
    }

    /**
     * The head stage alone: the final norm, project_out and the LM head (the embedding matrix when tied); use
     * its {@link CausalLm#head}. Close it to free its weights.
     */
    public CausalLm head() {
        return stage(l -> {
            ForwardSpec f = config.forward();
            NormLayer norm = f.finalNorm() ? l.norm(arch.finalNormStem(), f, config.rmsNormEps()) : null;
            NDArray projectOut = f.embedProjDim() > 0 ? l.tensor(arch.projectOut()) : null;
            NDArray lmHead = l.tensor(config.tieWordEmbeddings() ? arch.embedTokens() : arch.lmHead());
            return new CausalLm(config, l.manager(), dtype, null, new CausalLm.Extras(null, null, projectOut, null),
                List.of(), norm, lmHead);
        });
    }

    /**
     * Final hidden states (B, T, H) of every batch of token ids (each (B, T)), in each batch's manager:
     * the embeddings, then block by block over all batches. The ids stay the caller's.
     */
    public NDArray[] hiddenStates(NDArray[] ids) {
        NDArray[] h = new NDArray[ids.length];
        try (CausalLm stage = embedding()) {
            for (int b = 0; b < ids.length; b++) {
                NDManager out = ids[b].getManager();
                try (NDManager scope = out.newSubManager()) {
                    ids[b].tempAttach(scope);
                    NDArray x = stage.embed(ids[b]);
                    x.attach(out);
                    h[b] = x;
                }
            }
        }
        for (int i = 0; i < config.numLayers(); i++) {
            try (CausalLm stage = block(i)) {
                for (int b = 0; b < h.length; b++) {
                    NDArray next = stage.runBlocks(h[b], 0, 1);
                    h[b].close();
                    h[b] = next;
                }
            }
        }
        return h;
    }

    private CausalLm stage(Function<ModelLoader.Loader, CausalLm> build) {
        Function<String, long[]> unitShapes = layout::unitShape;
        NDManager manager = NDManager.newBaseManager(device);
        try {
            return build.apply(new ModelLoader.Loader(layout.unitReader(checkpointTensors), unitShapes, manager, dtype,
                sliced, slices));
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    @Override
    public void close() {
        checkpoint.close();
    }
}
