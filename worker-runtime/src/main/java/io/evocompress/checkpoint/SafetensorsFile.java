package io.evocompress.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.EvocompressException;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.EOFException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One safetensors file on a Hadoop file system, read tensor by tensor (never whole): the header is
 * parsed and checked against the file's length when opened, then each read seeks to one tensor.
 *
 * <p>Layout: 8 bytes little-endian header length N, N bytes of JSON header
 * ({@code name -> {dtype, shape, data_offsets: [begin, end]}}), then the data section.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Headers larger than this are treated as corrupt (the format's own limit is 100 MB). */
    private static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final FSDataInputStream in;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FSDataInputStream in, long dataStart,
                            Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.path = path;
        this.in = in;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Opens and validates a safetensors file; every problem names the file. */
    public static SafetensorsFile open(FileSystem fs, Path path) {
        FSDataInputStream in;
        long fileLength;
        try {
            fileLength = fs.getFileStatus(path).getLen();
            in = fs.open(path);
        } catch (FileNotFoundException e) {
            throw new EvocompressException("Missing weights file: " + path + " does not exist.", e);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot open " + path, e);
        }
        try {
            if (fileLength < 8) {
                throw new EvocompressException(path + " is truncated or not a safetensors file: it holds "
                    + fileLength + " bytes, fewer than the 8-byte header length.");
            }
            byte[] lengthBytes = new byte[8];
            in.readFully(0, lengthBytes, 0, 8);
            long headerLength = ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || headerLength > fileLength - 8) {
                throw new EvocompressException(path + " has a corrupt header: its header length field says "
                    + headerLength + " bytes but the file holds " + fileLength
                    + " bytes in all. Re-download or re-export the checkpoint.");
            }
            byte[] header = new byte[(int) headerLength];
            in.readFully(8, header, 0, header.length);
            long dataStart = 8 + headerLength;
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, TensorInfo> tensors = parseHeader(path, header, fileLength - dataStart, metadata);
            return new SafetensorsFile(path, in, dataStart, tensors, metadata);
        } catch (IOException e) {
            closeQuietly(in);
            throw new EvocompressException(path + " is truncated: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(in);
            throw e;
        }
    }

    private static Map<String, TensorInfo> parseHeader(Path path, byte[] header, long dataLength,
                                                       Map<String, String> metadata) {
        JsonNode root;
        try {
            root = JSON.readTree(new String(header, StandardCharsets.UTF_8).trim());
        } catch (IOException e) {
            throw new EvocompressException(path + " has a corrupt header: it is not valid JSON ("
                + e.getMessage().lines().findFirst().orElse("") + "). Re-download or re-export the checkpoint.", e);
        }
        if (root == null || !root.isObject()) {
            throw new EvocompressException(path + " has a corrupt header: expected a JSON object of tensors.");
        }
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            String name = entry.getKey();
            JsonNode node = entry.getValue();
            if ("__metadata__".equals(name)) {
                node.properties().forEach(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            String where = path + " tensor '" + name + "'";
            JsonNode dtype = node.get("dtype");
            JsonNode shape = node.get("shape");
            JsonNode offsets = node.get("data_offsets");
            if (dtype == null || shape == null || !shape.isArray() || offsets == null || !offsets.isArray() || offsets.size() != 2) {
                throw new EvocompressException(path + " has a corrupt header: " + where
                    + " lacks dtype, shape or data_offsets [begin, end].");
            }
            long[] dims = new long[shape.size()];
            for (int i = 0; i < dims.length; i++) {
                dims[i] = shape.get(i).asLong(-1);
                if (dims[i] < 0) {
                    throw new EvocompressException(path + " has a corrupt header: " + where + " has a negative dimension.");
                }
            }
            TensorInfo info = new TensorInfo(name, DType.parse(dtype.asText(), where), dims,
                offsets.get(0).asLong(), offsets.get(1).asLong());
            if (info.begin() < 0 || info.end() < info.begin() || info.byteLength() != info.numel() * info.dtype().bytes()) {
                throw new EvocompressException(path + " has a corrupt header: " + where + " with shape "
                    + info.shapeString() + " and dtype " + info.dtype() + " needs " + info.numel() * info.dtype().bytes()
                    + " bytes but its offsets [" + info.begin() + ", " + info.end() + "] span " + info.byteLength() + ".");
            }
            if (info.end() > dataLength) {
                throw new EvocompressException(path + " is truncated: " + where + " ends at data byte " + info.end()
                    + " but the file holds only " + dataLength + " data bytes. Copy the file again.");
            }
            tensors.put(name, info);
        }
        checkNoOverlap(path, tensors);
        return Collections.unmodifiableMap(tensors);
    }

    /**
     * Two tensors sharing bytes would read each other's values (the format forbids it): every
     * non-empty tensor's byte range must be disjoint from the others'. O(n log n) in the tensor count.
     */
    private static void checkNoOverlap(Path path, Map<String, TensorInfo> tensors) {
        java.util.List<TensorInfo> byBegin = new java.util.ArrayList<>();
        for (TensorInfo t : tensors.values()) {
            if (t.byteLength() > 0) {
                byBegin.add(t);
            }
        }
        byBegin.sort(java.util.Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        for (int i = 1; i < byBegin.size(); i++) {
            TensorInfo a = byBegin.get(i - 1);
            TensorInfo b = byBegin.get(i);
            if (b.begin() < a.end()) {
                throw new EvocompressException(path + " has a corrupt header: tensors '" + a.name() + "' (data bytes ["
                    + a.begin() + ", " + a.end() + ")) and '" + b.name() + "' ([" + b.begin() + ", " + b.end()
                    + ")) overlap, so one would read the other's values. Re-download or re-export the checkpoint.");
            }
        }
    }

    public Path path() {
        return path;
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new EvocompressException(path + " holds no tensor named '" + name + "'.");
        }
        return info;
    }

    /**
     * Reads {@code length} raw bytes of a tensor starting {@code offset} bytes into it, into a new
     * little-endian heap buffer.
     */
    public synchronized ByteBuffer readRaw(TensorInfo info, long offset, int length) {
        if (offset < 0 || offset + length > info.byteLength()) {
            throw new IllegalArgumentException("Byte range [" + offset + ", " + (offset + length)
                + ") lies outside tensor " + info.name() + " of " + info.byteLength() + " bytes");
        }
        byte[] bytes = new byte[length];
        try {
            in.readFully(dataStart + info.begin() + offset, bytes, 0, length);
        } catch (EOFException e) {
            throw new EvocompressException(path + " is truncated: reading tensor '" + info.name() + "' hit the end of the file.", e);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read tensor '" + info.name() + "' from " + path, e);
        }
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Reads rows {@code [row0, row0 + rows)} of a floating tensor (rows along its first dimension)
     * and converts them to float32.
     */
    public float[] readRowsAsFloat(TensorInfo info, long row0, int rows) {
        return readRowsAsFloat(info, row0, rows, null);
    }

    /**
     * As {@link #readRowsAsFloat(TensorInfo, long, int)}, feeding the raw bytes, as read, to {@code digest}
     * (when not null): a tensor's SHA-256 without a second read. Reading a tensor's rows in consecutive
     * ranges, in order, feeds the digest the same bytes as one read of the whole tensor.
     */
    public float[] readRowsAsFloat(TensorInfo info, long row0, int rows, java.security.MessageDigest digest) {
        if (!info.dtype().isFloating()) {
            throw new EvocompressException(path + " tensor '" + info.name() + "' has dtype " + info.dtype()
                + ", expected a floating type (F32, F16, BF16).");
        }
        long rowElements = info.shape().length == 0 ? 1 : info.numel() / Math.max(1, info.shape()[0]);
        long elements = rowElements * rows;
        if (row0 < 0 || rows < 0 || row0 + rows > (info.shape().length == 0 ? 1 : info.shape()[0])) {
            throw new IllegalArgumentException("Rows [" + row0 + ", " + (row0 + rows) + ") lie outside tensor "
                + info.name() + " of shape " + info.shapeString());
        }
        if (elements > Integer.MAX_VALUE - 8 || elements * info.dtype().bytes() > Integer.MAX_VALUE - 8) {
            throw new EvocompressException(path + " tensor '" + info.name() + "' (" + info.shapeString() + ", "
                + info.dtype() + "): " + rows + " rows of it are " + elements + " values, more than one Java array (or "
                + "read buffer of 2 GiB) holds. Forward passes read embeddings, heads and unfused weights this large in "
                + "row slices (model.RowSlices); what read it here (a fused weight, a build-db layer task, DarwinLM, compress) "
                + "reads a tensor whole, which tensors this large do not support yet.");
        }
        ByteBuffer raw = readRaw(info, row0 * rowElements * info.dtype().bytes(), (int) (elements * info.dtype().bytes()));
        if (digest != null) {
            digest.update(raw.duplicate());
        }
        float[] out = new float[(int) elements];
        switch (info.dtype()) {
            case F32 -> raw.asFloatBuffer().get(out);
            case F64 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = (float) raw.getDouble();
                }
            }
            case F16 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = Float16.f16ToFloat(raw.getShort());
                }
            }
            case BF16 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = Float16.bf16ToFloat(raw.getShort());
                }
            }
            default -> throw new AssertionError(info.dtype());
        }
        checkFinite(info, row0 * rowElements, out);
        return out;
    }

    /**
     * A NaN or infinite weight would make every score computed from it NaN (a perplexity of NaN
     * reported as a result): refused where the values are read, naming the tensor and the element.
     */
    private void checkFinite(TensorInfo info, long firstElement, float[] values) {
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                long element = firstElement + i;
                throw new EvocompressException(path + " tensor '" + info.name() + "' holds " + values[i]
                    + " at element " + element + " (of " + info.numel() + "): the checkpoint is corrupt or was saved "
                    + "from a diverged run. Re-download or re-export it.");
            }
        }
    }

    /** Reads a whole floating tensor as float32. */
    public float[] readFloat(TensorInfo info) {
        long rows = info.shape().length == 0 ? 1 : info.shape()[0];
        return readRowsAsFloat(info, 0, Math.toIntExact(rows));
    }

    /**
     * Reads a whole floating tensor as float32, feeding its raw bytes as stored (what the safetensors
     * header's offsets delimit) to {@code digest} as they are read.
     */
    public float[] readFloat(TensorInfo info, java.security.MessageDigest digest) {
        long rows = info.shape().length == 0 ? 1 : info.shape()[0];
        return readRowsAsFloat(info, 0, Math.toIntExact(rows), digest);
    }

    /** Reads a whole integer tensor (I8 to I64, U8) as longs. */
    public long[] readLongs(TensorInfo info) {
        ByteBuffer raw = readRaw(info, 0, Math.toIntExact(info.byteLength()));
        long[] out = new long[Math.toIntExact(info.numel())];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (info.dtype()) {
                case I64 -> raw.getLong();
                case I32 -> raw.getInt();
                case I16 -> raw.getShort();
                case I8 -> raw.get();
                case U8, BOOL -> raw.get() & 0xff;
                default -> throw new EvocompressException(path + " tensor '" + info.name() + "' has dtype "
                    + info.dtype() + ", expected an integer type.");
            };
        }
        return out;
    }

    @Override
    public void close() {
        closeQuietly(in);
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // nothing more to do
        }
    }
}
