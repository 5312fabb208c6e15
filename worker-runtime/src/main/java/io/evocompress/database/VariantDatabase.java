package io.evocompress.database;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.EvocompressException;
import io.evocompress.fitness.VariantSource;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A finished variant database read from any Hadoop file system: the manifest, and each (layer, level)
 * variant read on demand, its size and SHA-256 checked against the manifest and its CRC against its
 * contents, so a corrupt or truncated file is an error naming the file.
 *
 * <p>Layout under the root: {@code manifest.json} (written last), {@code <layer>/layer.json} and
 * {@code <layer>/level{m|p}<n>.bin} per layer, {@code hessians/} with the calibration statistics.
 */
public final class VariantDatabase implements VariantSource {
    public static final String MANIFEST = "manifest.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final VariantStore store;
    private final DatabaseManifest manifest;
    private volatile java.util.Map<String, String> tensorSha256;   // of the manifest's layers, on first use

    private VariantDatabase(VariantStore store, DatabaseManifest manifest) {
        this.store = store;
        this.manifest = manifest;
    }

    /** Opens the database at {@code root}; fails clearly when it is not a finished database. */
    public static VariantDatabase open(FileSystem fs, Path root) {
        Path file = new Path(root, MANIFEST);
        if (!HadoopFiles.exists(fs, file)) {
            throw new EvocompressException(root + " is not a variant database, or its build is unfinished (no " + MANIFEST
                + "): run build-db to build or finish it.");
        }
        VariantStore store = new VariantStore(fs, root);
        DatabaseManifest manifest;
        try {
            manifest = JSON.readValue(store.readAll(file), DatabaseManifest.class);
        } catch (IOException e) {
            throw new EvocompressException(file + " is not a valid variant database manifest (" + e.getMessage()
                + "): the build may have been interrupted or the file damaged; run build-db again.", e);
        }
        if (manifest.formatVersion() != DatabaseManifest.FORMAT_VERSION) {
            throw new EvocompressException(file + " has database format version " + manifest.formatVersion()
                + "; this build reads version " + DatabaseManifest.FORMAT_VERSION + ": rebuild it with build-db.");
        }
        return new VariantDatabase(store, manifest);
    }

    /** Opens a database by location (a local path or a URI). */
    public static VariantDatabase open(String location) {
        Path root = HadoopFiles.path(location);
        return open(HadoopFiles.fileSystem(root, HadoopFiles.defaultConf()), root);
    }

    public DatabaseManifest manifest() {
        return manifest;
    }

    public Path root() {
        return store.root();
    }

    /**
     * {@link TensorHashes#recorded} of every layer of the manifest, and the hashes of the model's other
     * tensors ({@link DatabaseManifest.Model#otherTensorSha256}).
     */
    @Override
    public java.util.Map<String, String> tensorSha256() {
        java.util.Map<String, String> hashes = tensorSha256;
        if (hashes == null) {
            java.util.HashMap<String, String> all = TensorHashes.recorded(manifest.layers());
            if (manifest.model() != null && manifest.model().otherTensorSha256() != null) {
                manifest.model().otherTensorSha256().forEach(all::putIfAbsent);
            }
            hashes = java.util.Map.copyOf(all);
            tensorSha256 = hashes;
        }
        return hashes;
    }

    /** The variant of {@code layer} at {@code level}, verified (errors name the file). */
    @Override
    public LayerVariant variant(String layer, int level) {
        VariantStore.LayerRecord record = manifest.layer(layer);
        return store.read(layer, record.level(level).file());
    }

    /** Writes the manifest atomically: the last file of a build. */
    public static void writeManifest(FileSystem fs, Path root, DatabaseManifest manifest) {
        try {
            new VariantStore(fs, root).writeAtomically(new Path(root, MANIFEST),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + new Path(root, MANIFEST), e);
        }
    }
}
