package io.evocompress;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Real corrupted inputs for the bad-input tests: copies of a fixture checkpoint with one thing
 * broken (config.json edited, a safetensors header rewritten, a weight overwritten with NaN) and
 * token-id files of a given shape. Each helper edits the file on disk, as a bad download would.
 */
public final class BadFiles {
    private static final ObjectMapper JSON = new ObjectMapper();

    private BadFiles() {
    }

    /** A writable copy of a checkpoint directory's files (the fixtures are read-only). */
    public static Path copyCheckpoint(Path source, Path target) {
        try {
            Files.createDirectories(target);
            try (var files = Files.list(source)) {
                for (Path f : files.toList()) {
                    if (Files.isRegularFile(f)) {
                        Files.write(target.resolve(f.getFileName()), Files.readAllBytes(f));
                    }
                }
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sets one top-level field of {@code dir/config.json} (a number, string or boolean given as JSON text). */
    public static void editConfig(Path dir, String field, String jsonValue) {
        try {
            Path config = dir.resolve("config.json");
            ObjectNode root = (ObjectNode) JSON.readTree(Files.readString(config));
            root.set(field, JSON.readTree(jsonValue));
            Files.writeString(config, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Rewrites a safetensors file's JSON header in place, keeping its data section byte for byte. */
    public static void editHeader(Path file, Consumer<ObjectNode> edit) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            int n = (int) ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            ObjectNode header = (ObjectNode) JSON.readTree(new String(bytes, 8, n, StandardCharsets.UTF_8));
            edit.accept(header);
            byte[] json = JSON.writeValueAsBytes(header);
            ByteBuffer out = ByteBuffer.allocate(8 + json.length + bytes.length - 8 - n).order(ByteOrder.LITTLE_ENDIAN);
            out.putLong(json.length).put(json).put(bytes, 8 + n, bytes.length - 8 - n);
            Files.write(file, out.array());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Points tensor {@code second}'s data_offsets at tensor {@code first}'s bytes (both must have the same size). */
    public static void overlapOffsets(Path file, String first, String second) {
        editHeader(file, h -> {
            JsonNode a = h.get(first).get("data_offsets");
            ObjectNode b = (ObjectNode) h.get(second);
            if (a.get(1).asLong() - a.get(0).asLong() != b.get("data_offsets").get(1).asLong() - b.get("data_offsets").get(0).asLong()) {
                throw new IllegalArgumentException(first + " and " + second + " differ in size");
            }
            b.set("data_offsets", a.deepCopy());
        });
    }

    /** Overwrites element {@code element} of an F32 tensor with {@code value} (NaN, infinity). */
    public static void setF32(Path file, String tensor, long element, float value) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            int n = (int) ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            JsonNode info = JSON.readTree(new String(bytes, 8, n, StandardCharsets.UTF_8)).get(tensor);
            if (!info.get("dtype").asText().equals("F32")) {
                throw new IllegalArgumentException(tensor + " is not F32");
            }
            int at = Math.toIntExact(8 + n + info.get("data_offsets").get(0).asLong() + 4 * element);
            ByteBuffer.wrap(bytes, at, 4).order(ByteOrder.LITTLE_ENDIAN).putFloat(value);
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A tensor's bytes as stored in a safetensors file, located by its header's data_offsets. */
    public static byte[] tensorBytes(Path file, String tensor) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            int n = (int) ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            JsonNode offsets = JSON.readTree(new String(bytes, 8, n, StandardCharsets.UTF_8)).get(tensor).get("data_offsets");
            return Arrays.copyOfRange(bytes, 8 + n + offsets.get(0).asInt(), 8 + n + offsets.get(1).asInt());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * An existing directory this process cannot create files in: {@code parent/read-only} with mode 555,
     * or, where that does not stop a write (running as root), {@code /proc}, where not even root can
     * create a file. Asserts that creating a file there fails, so a test using it cannot pass vacuously.
     */
    public static Path unwritableDirectory(Path parent) {
        try {
            Path ro = Files.createDirectories(parent.resolve("read-only"));
            Files.setPosixFilePermissions(ro, java.nio.file.attribute.PosixFilePermissions.fromString("r-xr-xr-x"));
            Path dir = canCreateFile(ro) ? Path.of("/proc") : ro;
            if (!Files.isDirectory(dir) || canCreateFile(dir)) {
                throw new IllegalStateException("no unwritable directory here: " + ro + " and /proc both take files");
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean canCreateFile(Path dir) {
        try {
            Files.delete(Files.createTempFile(dir, ".probe-", ".tmp"));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** A safetensors file holding one I64 tensor {@code token_ids} of the given shape and values. */
    public static Path tokenIds(Path file, long[] shape, long... ids) {
        if (Arrays.stream(shape).reduce(1, (x, y) -> x * y) != ids.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " does not hold " + ids.length + " ids");
        }
        ObjectNode header = JSON.createObjectNode();
        ObjectNode t = header.putObject("token_ids");
        t.put("dtype", "I64");
        var s = t.putArray("shape");
        Arrays.stream(shape).forEach(s::add);
        t.putArray("data_offsets").add(0).add(8L * ids.length);
        try {
            byte[] json = JSON.writeValueAsBytes(header);
            ByteBuffer out = ByteBuffer.allocate(8 + json.length + 8 * ids.length).order(ByteOrder.LITTLE_ENDIAN);
            out.putLong(json.length).put(json);
            for (long id : ids) {
                out.putLong(id);
            }
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.write(file, out.array());
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code count} ids cycling through [1, vocab). */
    public static long[] ids(int count, int vocab) {
        long[] out = new long[count];
        for (int i = 0; i < count; i++) {
            out[i] = 1 + (i * 7L) % (vocab - 1);
        }
        return out;
    }
}
