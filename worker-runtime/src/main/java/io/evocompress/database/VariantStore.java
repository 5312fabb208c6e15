package io.evocompress.database;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.EvocompressException;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * The files of a variant database on any Hadoop file system: {@code <root>/<layer>/<level>.bin} per
 * (layer, level), and {@code <root>/<layer>/layer.json}, the layer's record, written last. Every
 * file is written under a temporary name and renamed into place, so a layer whose record exists is
 * complete; its files' SHA-256 checksums are in the record, so a resumed build can verify them.
 */
public final class VariantStore {
    static final ObjectMapper JSON = new ObjectMapper();
    public static final String LAYER_RECORD = "layer.json";

    private final FileSystem fs;
    private final Path root;

    public VariantStore(FileSystem fs, Path root) {
        this.fs = fs;
        this.root = root;
    }

    public Path root() {
        return root;
    }

    public FileSystem fileSystem() {
        return fs;
    }

    public Path layerDir(String layer) {
        return new Path(root, layer);
    }

    public static String fileName(int level) {
        return "level" + (level < 0 ? "m" + (-level) : "p" + level) + ".bin";
    }

    /** Writes one variant atomically; returns its entry (without level metadata the caller adds). */
    public StoredFile write(String layer, int level, LayerVariant variant, int valueBytes) {
        byte[] bytes = VariantCodec.encode(variant, valueBytes);
        String name = fileName(level);
        writeAtomically(new Path(layerDir(layer), name), bytes);
        return new StoredFile(name, bytes.length, sha256(bytes));
    }

    /** Reads and checks a variant (checksum from the record, then the file's own CRC). */
    public LayerVariant read(String layer, StoredFile file) {
        Path path = new Path(layerDir(layer), file.name());
        byte[] bytes = readAll(path);
        if (bytes.length != file.bytes() || !sha256(bytes).equals(file.sha256())) {
            throw new EvocompressException(path + " is corrupt or truncated: its size or SHA-256 differs from the "
                + "database manifest (" + bytes.length + " bytes, expected " + file.bytes()
                + "). Rerun build-db: it rebuilds layers whose files fail their checksums.");
        }
        return VariantCodec.decode(bytes, path.toString());
    }

    /** Writes a layer's record last: once it exists, the layer is complete. */
    public void writeRecord(LayerRecord record) {
        try {
            writeAtomically(new Path(layerDir(record.name()), LAYER_RECORD), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(record));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The layer's record if the layer is complete and every file verifies, else null (rebuild it). */
    public LayerRecord verifiedRecord(String layer, String settingsHash) {
        return verifiedRecord(layer, settingsHash, problem -> { });
    }

    /**
     * As {@link #verifiedRecord(String, String)}, telling {@code problem} which file of a record of
     * this build is missing or corrupt (it is then rebuilt).
     */
    public LayerRecord verifiedRecord(String layer, String settingsHash, java.util.function.Consumer<String> problem) {
        Path recordPath = new Path(layerDir(layer), LAYER_RECORD);
        try {
            if (!fs.exists(recordPath)) {
                return null;
            }
            LayerRecord record = JSON.readValue(readAll(recordPath), LayerRecord.class);
            if (!record.settingsHash().equals(settingsHash)) {
                return null;
            }
            for (LayerRecord.Level level : record.levels()) {
                Path p = new Path(layerDir(layer), level.file().name());
                if (!fs.exists(p)) {
                    problem.accept(p + " is missing: rebuilding layer " + layer);
                    return null;
                }
                byte[] bytes = readAll(p);
                if (bytes.length != level.file().bytes() || !sha256(bytes).equals(level.file().sha256())) {
                    problem.accept(p + " is corrupt (" + bytes.length + " bytes, its record says " + level.file().bytes()
                        + (bytes.length == level.file().bytes() ? ", SHA-256 differs" : "") + "): rebuilding layer " + layer);
                    return null;
                }
            }
            return record;
        } catch (IOException | EvocompressException e) {
            return null; // an unreadable record or file means an unfinished layer: rebuild it
        }
    }

    /**
     * The tensor hashes of the layer's record if it has one of this build ({@code settingsHash}), whether
     * or not its files still verify (a layer rebuilt on resume checks the tensor it reads again against
     * them); empty when there is none or it is unreadable.
     */
    public java.util.Map<String, String> recordedTensorHashes(String layer, String settingsHash) {
        Path recordPath = new Path(layerDir(layer), LAYER_RECORD);
        try {
            if (!fs.exists(recordPath)) {
                return java.util.Map.of();
            }
            LayerRecord record = JSON.readValue(readAll(recordPath), LayerRecord.class);
            return record.settingsHash().equals(settingsHash) && record.tensorSha256() != null ? record.tensorSha256()
                : java.util.Map.of();
        } catch (IOException | EvocompressException e) {
            return java.util.Map.of();
        }
    }

    /** Writes {@code bytes} to {@code target} under a temporary name, then renames it into place. */
    public void writeAtomically(Path target, byte[] bytes) {
        io.evocompress.fs.AtomicFile.write(fs, target, bytes);
    }

    /** A whole file; a missing or unreadable file is an error naming it. */
    public byte[] readAll(Path path) {
        try (FSDataInputStream in = fs.open(path)) {
            return in.readAllBytes();
        } catch (FileNotFoundException e) {
            throw new EvocompressException("Variant file " + path + " is missing: rerun build-db to rebuild it.", e);
        } catch (org.apache.hadoop.fs.ChecksumException e) {
            throw new EvocompressException(path + " is corrupt (the file system's checksum fails): rerun build-db "
                + "to rebuild it.", e);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + path, e);
        }
    }

    public static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(newSha256().digest(bytes));
    }

    /** A fresh SHA-256 digest (every JVM has one). */
    static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A stored variant file: name inside its layer directory, size, SHA-256. */
    public record StoredFile(String name, long bytes, String sha256) {
    }

    /**
     * One layer's entry in the database: its name and shape, the settings hash it was built with,
     * each level's sparsity or bits, error estimate and file, and the dense layer's output energy.
     *
     * @param outputEnergy 1/2 sum_r w_r H w_r^T of the dense weight under the layer's undamped
     *                     calibration Hessian (= ||W X^T||^2 / n, the scale of the levels' error
     *                     estimates; {@link LayerLevels#outputEnergy}), which the layer-wise scheduler's
     *                     {@code relative} error measure divides by; null in records written before it
     *                     was recorded (JSON {@code outputEnergy} absent) and where nothing computed it
     * @param tensorSha256 the full SHA-256 of each checkpoint tensor the build read for this layer (its
     *                     weight, or the fused tensor holding it), by checkpoint name, hashed as it was read
     *                     ({@link TensorHashes}); null in records written before it was recorded and in
     *                     {@code schedule}'s stores
     */
    public record LayerRecord(String name, long rows, long cols, String settingsHash, List<Level> levels,
                              Double outputEnergy, java.util.Map<String, String> tensorSha256) {
        @com.fasterxml.jackson.annotation.JsonCreator
        public LayerRecord {
            tensorSha256 = tensorSha256 == null ? null : java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(tensorSha256));
        }

        /** A record without tensor hashes. */
        public LayerRecord(String name, long rows, long cols, String settingsHash, List<Level> levels, Double outputEnergy) {
            this(name, rows, cols, settingsHash, levels, outputEnergy, null);
        }

        /** A level: sparsity (unstructured) or bits (quantization) as built, the compressor's error estimate. */
        public record Level(int level, Double sparsity, Integer bits, double error, StoredFile file) {
        }

        public Level level(int level) {
            for (Level l : levels) {
                if (l.level() == level) {
                    return l;
                }
            }
            throw new EvocompressException("Layer " + name + " has no level " + level + " in the database (levels: "
                + levels.stream().map(Level::level).toList() + ").");
        }
    }
}
