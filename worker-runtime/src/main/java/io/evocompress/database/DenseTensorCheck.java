package io.evocompress.database;

import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.SafetensorsFile;
import org.apache.hadoop.fs.FileStatus;

import java.io.IOException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The check that a dense model evaluated against a variant database (search's candidate workers) holds
 * the weights the database was built from: each checkpoint tensor the database recorded a SHA-256 for
 * ({@link TensorHashes}: every linear weight its build tasks read, in the layer records, and every other
 * tensor, {@link DatabaseManifest.Model#otherTensorSha256}) is hashed as the model reads it and compared
 * with the record ({@link TensorHashes#verify}); a mismatch fails naming the tensor, its checkpoint file
 * and the database.
 *
 * <p>The hash of each tensor read is remembered per JVM (by checkpoint file, its length and modification
 * time, and tensor name), so a model loaded again on the same executor, or a tensor read again by the
 * streamed forward, is checked without hashing it again. A tensor the streamed forward finds in the host
 * cache ({@link io.evocompress.model.HostWeightCache}) already, put there by an unhashed read (the
 * build's Hessian pass in the same JVM), is read once more, hashed, the first time ({@link #ensure}).
 * Tensors the database recorded nothing for (those of a database built before the hashes were recorded)
 * are read as they are, unhashed.
 */
public final class DenseTensorCheck {
    private static final DenseTensorCheck NONE = new DenseTensorCheck(Map.of(), "(no database)");
    /** Per JVM: "file@length/mtime|tensor" to the SHA-256 (hex) of the tensor's bytes as read. */
    private static final Map<String, String> SEEN = new ConcurrentHashMap<>();

    private final Map<String, String> recorded;
    private final String database;
    /** This check's file keys, one status read per file; and the keys it has verified (a cache hit costs lookups). */
    private final Map<SafetensorsFile, String> fileKeys = new ConcurrentHashMap<>();
    private final java.util.Set<String> verified = ConcurrentHashMap.newKeySet();

    private DenseTensorCheck(Map<String, String> recorded, String database) {
        this.recorded = recorded;
        this.database = database;
    }

    /** Checks nothing: the model is not evaluated against a database (depth search, eval). */
    public static DenseTensorCheck none() {
        return NONE;
    }

    /**
     * @param recorded checkpoint tensor name to SHA-256: the database's
     *                 {@link io.evocompress.fitness.VariantSource#tensorSha256} (an unchanging map, not copied)
     * @param database the database's location, for the message
     */
    public static DenseTensorCheck of(Map<String, String> recorded, String database) {
        return recorded.isEmpty() ? NONE : new DenseTensorCheck(recorded, database);
    }

    /**
     * Reads a checkpoint tensor by name in float32: a recorded one not hashed before in this JVM is hashed
     * as it is read, and checked; any other is read plainly.
     */
    public Function<String, float[]> reader(CheckpointReader checkpoint) {
        return name -> {
            String expected = recorded.get(name);
            if (expected == null) {
                return checkpoint.readFloat(name);
            }
            String key = key(checkpoint, name);
            if (fromMemo(checkpoint, name, key)) {
                return checkpoint.readFloat(name);
            }
            MessageDigest md = VariantStore.newSha256();
            float[] values = checkpoint.readFloat(name, md);
            remember(checkpoint, name, key, HexFormat.of().formatHex(md.digest()));
            return values;
        };
    }

    /**
     * As {@link #reader}, for a tensor read in row slices ({@link io.evocompress.model.RowSlices}: one too large
     * for one Java array): a recorded one not hashed before in this JVM is hashed slice by slice as it is read
     * (the same SHA-256 as of one whole read) and checked once its last slice is read, the slices handed to
     * {@code sink} before (a caller's device array is dropped when this throws); any other is read plainly.
     */
    public void readRows(CheckpointReader checkpoint, String name, io.evocompress.model.RowSlices.Sink sink) {
        String expected = recorded.get(name);
        if (expected == null) {
            io.evocompress.model.RowSlices.read(checkpoint, name, null, sink);
            return;
        }
        String key = key(checkpoint, name);
        if (fromMemo(checkpoint, name, key)) {
            io.evocompress.model.RowSlices.read(checkpoint, name, null, sink);
            return;
        }
        MessageDigest md = VariantStore.newSha256();
        io.evocompress.model.RowSlices.read(checkpoint, name, md, sink);
        remember(checkpoint, name, key, HexFormat.of().formatHex(md.digest()));
    }

    /**
     * Whether reading a tensor through this check hashes it: the database recorded it and this JVM has not
     * hashed it before ({@link #ensure} then reads it again).
     */
    public boolean pending(CheckpointReader checkpoint, String name) {
        if (!recorded.containsKey(name)) {
            return false;
        }
        String key = key(checkpoint, name);
        return key == null || !SEEN.containsKey(key);
    }

    private void remember(CheckpointReader checkpoint, String name, String key, String actual) {
        TensorHashes.verify(Map.of(name, actual), recorded, checkpoint, database);
        if (key != null) {
            SEEN.put(key, actual);
            verified.add(key);
        }
    }

    /**
     * Checks a recorded tensor obtained without reading it through {@link #reader} (a host cache hit): from
     * this JVM's memo, or else by hashing its stored bytes once (in chunks, any size).
     */
    public void ensure(CheckpointReader checkpoint, String name) {
        String expected = recorded.get(name);
        if (expected == null) {
            return;
        }
        String key = key(checkpoint, name);
        if (key != null && verified.contains(key)) {
            return;
        }
        if (!fromMemo(checkpoint, name, key)) {
            remember(checkpoint, name, key, TensorHashes.sha256(checkpoint, name));
        }
    }

    /** Whether this JVM hashed the recorded tensor before; if so, that hash is checked against the record. */
    private boolean fromMemo(CheckpointReader checkpoint, String name, String key) {
        String seen = key == null ? null : SEEN.get(key);
        if (seen == null) {
            return false;
        }
        TensorHashes.verify(Map.of(name, seen), recorded, checkpoint, database);
        verified.add(key);
        return true;
    }

    /** Forgets every hash remembered in this JVM (tests that rewrite a checkpoint in place). */
    public static void forget() {
        SEEN.clear();
    }

    /**
     * The memo's key, or null when the file's status cannot be read (then nothing is remembered); the
     * file's status is read once per file for this check.
     */
    private String key(CheckpointReader checkpoint, String name) {
        SafetensorsFile file = checkpoint.file(name);
        String fileKey = fileKeys.get(file);
        if (fileKey == null) {
            try {
                FileStatus st = checkpoint.fileSystem().getFileStatus(file.path());
                fileKey = file.path() + "@" + st.getLen() + "/" + st.getModificationTime();
            } catch (IOException e) {
                return null;
            }
            fileKeys.put(file, fileKey);
        }
        return fileKey + "|" + name;
    }
}
