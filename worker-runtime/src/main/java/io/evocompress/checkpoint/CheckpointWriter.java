package io.evocompress.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.fs.AtomicDirectory;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Writes a Hugging Face checkpoint directory (config.json, single or sharded safetensors in a chosen
 * float dtype, tokenizer files) atomically: everything goes to a temporary sibling directory that is
 * renamed into place at the end. Tensors are produced one at a time by their {@link Tensor#data()}
 * supplier, so a large model is never held whole.
 */
public final class CheckpointWriter {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int HEADER_ALIGN = 8;

    /**
     * One tensor to write: its name, shape and a supplier of its float32 values in row-major order,
     * written in the writer's dtype; or, for a tensor of its own element type (packed integer weights,
     * fp16 scales), {@code rawType} and a supplier of its little-endian bytes, written as given; or, for a
     * tensor too large for one Java array (BLOOM-176B's embedding), {@code slices}, which hands its float32
     * values to the consumer it is given in consecutive row slices, in order.
     */
    public record Tensor(String name, long[] shape, Supplier<float[]> data, DType rawType, Supplier<byte[]> raw,
                         java.util.function.Consumer<java.util.function.Consumer<float[]>> slices) {
        public Tensor(String name, long[] shape, Supplier<float[]> data) {
            this(name, shape, data, null, null, null);
        }

        public Tensor(String name, long[] shape, Supplier<float[]> data, DType rawType, Supplier<byte[]> raw) {
            this(name, shape, data, rawType, raw, null);
        }

        /** A tensor whose float32 values {@code slices} hands over in consecutive row slices, written as they come. */
        public static Tensor sliced(String name, long[] shape,
                                    java.util.function.Consumer<java.util.function.Consumer<float[]>> slices) {
            return new Tensor(name, shape, null, null, null, slices);
        }

        /** A tensor of element type {@code type} whose bytes are written as supplied. */
        public static Tensor raw(String name, long[] shape, DType type, Supplier<byte[]> bytes) {
            return new Tensor(name, shape, null, type, bytes);
        }

        long bytes(DType writerType) {
            return numel() * (rawType != null ? rawType : writerType).bytes();
        }

        long numel() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private final DType dtype;
    private final int shards;
    private final boolean overwrite;
    private final TensorNaming naming;

    /**
     * @param dtype     element type of every tensor written (F32, F16 or BF16)
     * @param shards    1 for {@code model.safetensors}, more for {@code model-0000i-of-0000n.safetensors} plus an index
     * @param overwrite whether an existing output directory may be replaced
     */
    public CheckpointWriter(DType dtype, int shards, boolean overwrite) {
        this(dtype, shards, overwrite, TensorNaming.FULL);
    }

    private CheckpointWriter(DType dtype, int shards, boolean overwrite, TensorNaming naming) {
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new EvocompressException("Checkpoint dtype must be F32, F16 or BF16, but was " + dtype);
        }
        if (shards < 1) {
            throw new EvocompressException("Shard count must be at least 1, but was " + shards);
        }
        this.dtype = dtype;
        this.shards = shards;
        this.overwrite = overwrite;
        this.naming = naming;
    }

    /**
     * This writer storing tensors (given by full name) under {@code naming}'s stored names: a checkpoint
     * derived from one saved without the base model's prefix is written without it too
     * ({@link CheckpointReader#naming}). config.json (and its quantization_config's module names) stays as given.
     */
    public CheckpointWriter named(TensorNaming naming) {
        return new CheckpointWriter(dtype, shards, overwrite, naming);
    }

    /**
     * Writes the checkpoint to {@code out}.
     *
     * @param configJson  config.json text; its torch_dtype is set to the written dtype
     * @param sideFilesOf a checkpoint directory whose tokenizer files are copied, or null
     */
    public void write(FileSystem fs, Path out, String configJson, List<Tensor> tensors,
                      FileSystem sideFs, Path sideFilesOf) {
        if (shards > Math.max(1, tensors.size())) {
            throw new EvocompressException("Cannot split " + tensors.size() + " tensors into " + shards + " shards.");
        }
        try (AtomicDirectory dir = AtomicDirectory.create(fs, out, overwrite)) {
            writeConfig(fs, dir.resolve(CheckpointReader.CONFIG), configJson);
            List<List<Tensor>> groups = split(tensors);
            Map<String, String> weightMap = new LinkedHashMap<>();
            long totalBytes = 0;
            for (int s = 0; s < groups.size(); s++) {
                String fileName = groups.size() == 1 ? CheckpointReader.SINGLE_FILE
                    : String.format("model-%05d-of-%05d.safetensors", s + 1, groups.size());
                totalBytes += writeSafetensors(fs, dir.resolve(fileName), groups.get(s));
                for (Tensor t : groups.get(s)) {
                    weightMap.put(naming.stored(t.name()), fileName);
                }
            }
            if (groups.size() > 1) {
                writeIndex(fs, dir.resolve(CheckpointReader.INDEX_FILE), weightMap, totalBytes);
            }
            if (sideFilesOf != null) {
                copySideFiles(sideFs, sideFilesOf, fs, dir.dir());
            }
            dir.commit();
        }
    }

    /** Splits tensors, in order, into {@code shards} groups of about equal byte size. */
    private List<List<Tensor>> split(List<Tensor> tensors) {
        long total = tensors.stream().mapToLong(Tensor::numel).sum();
        List<List<Tensor>> groups = new ArrayList<>();
        List<Tensor> current = new ArrayList<>();
        long done = 0;
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            current.add(t);
            done += t.numel();
            int groupsLeft = shards - groups.size() - 1;
            int tensorsLeft = tensors.size() - i - 1;
            boolean reachedShare = done * shards >= total * (groups.size() + 1);
            if (groupsLeft > 0 && (reachedShare || tensorsLeft == groupsLeft)) {
                groups.add(current);
                current = new ArrayList<>();
            }
        }
        if (!current.isEmpty()) {
            groups.add(current);
        }
        return groups;
    }

    private long writeSafetensors(FileSystem fs, Path file, List<Tensor> tensors) {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Tensor t : tensors) {
            long bytes = t.bytes(dtype);
            ObjectNode entry = header.putObject(naming.stored(t.name()));
            entry.put("dtype", (t.rawType() != null ? t.rawType() : dtype).name());
            ArrayNode shape = entry.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] headerBytes = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (headerBytes.length + HEADER_ALIGN - 1) / HEADER_ALIGN * HEADER_ALIGN;
        try (FSDataOutputStream out = fs.create(file, false)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(headerBytes);
            for (int i = headerBytes.length; i < padded; i++) {
                out.write(' ');
            }
            for (Tensor t : tensors) {
                if (t.raw() != null) {
                    byte[] bytes = t.raw().get();
                    if (bytes.length != t.bytes(dtype)) {
                        throw new IllegalStateException("Tensor " + t.name() + " supplied " + bytes.length + " bytes for shape "
                            + java.util.Arrays.toString(t.shape()) + " of " + t.rawType());
                    }
                    out.write(bytes);
                    continue;
                }
                if (t.slices() != null) {
                    long[] written = {0};
                    t.slices().accept(values -> {
                        try {
                            writeValues(out, values);
                        } catch (IOException e) {
                            throw new UncheckedIOException("Cannot write " + file, e);
                        }
                        written[0] += values.length;
                    });
                    if (written[0] != t.numel()) {
                        throw new IllegalStateException("Tensor " + t.name() + " supplied " + written[0]
                            + " values for shape " + java.util.Arrays.toString(t.shape()));
                    }
                    continue;
                }
                float[] values = t.data().get();
                if (values.length != t.numel()) {
                    throw new IllegalStateException("Tensor " + t.name() + " supplied " + values.length
                        + " values for shape " + java.util.Arrays.toString(t.shape()));
                }
                writeValues(out, values);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + file, e);
        }
        return offset;
    }

    private void writeValues(OutputStream out, float[] values) throws IOException {
        final int chunk = 1 << 16;
        ByteBuffer buf = ByteBuffer.allocate(chunk * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (int start = 0; start < values.length; start += chunk) {
            buf.clear();
            int end = Math.min(values.length, start + chunk);
            for (int i = start; i < end; i++) {
                switch (dtype) {
                    case F32 -> buf.putFloat(values[i]);
                    case F16 -> buf.putShort(Float16.floatToF16(values[i]));
                    case BF16 -> buf.putShort(Float16.floatToBf16(values[i]));
                    default -> throw new AssertionError(dtype);
                }
            }
            out.write(buf.array(), 0, buf.position());
        }
    }

    private void writeConfig(FileSystem fs, Path file, String configJson) {
        try {
            ObjectNode config = (ObjectNode) JSON.readTree(configJson);
            config.put("torch_dtype", switch (dtype) {
                case F32 -> "float32";
                case F16 -> "float16";
                default -> "bfloat16";
            });
            writeText(fs, file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + file, e);
        }
    }

    private static void writeIndex(FileSystem fs, Path file, Map<String, String> weightMap, long totalBytes) {
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", totalBytes);
        ObjectNode map = index.putObject("weight_map");
        weightMap.forEach(map::put);
        try {
            writeText(fs, file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + file, e);
        }
    }

    static void writeText(FileSystem fs, Path file, String text) throws IOException {
        try (FSDataOutputStream out = fs.create(file, false)) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }

    private static void copySideFiles(FileSystem srcFs, Path srcDir, FileSystem dstFs, Path dstDir) {
        for (String name : CheckpointReader.SIDE_FILES) {
            Path src = new Path(srcDir, name);
            try {
                if (srcFs.exists(src)) {
                    FileUtil.copy(srcFs, src, dstFs, new Path(dstDir, name), false, dstFs.getConf());
                }
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot copy " + src + " to " + dstDir, e);
            }
        }
    }
}
