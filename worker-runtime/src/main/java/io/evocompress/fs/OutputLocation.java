package io.evocompress.fs;

import io.evocompress.EvocompressException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsAction;

import java.io.FileNotFoundException;
import java.io.IOException;

/**
 * An output directory checked before any work, so that a bad location fails in the driver with one
 * line instead of inside Spark tasks after the calibration has run: it must be a directory or not
 * exist yet (with no regular file on the way to it), writable (its nearest existing ancestor, through
 * the file system's own permission check; on the local file system, by creating and deleting an
 * empty hidden probe file there, since its permission bits do not tell: root writes a mode 555
 * directory, a read-only mount refuses one that looks writable), and neither a model checkpoint
 * directory nor the model being read. Creates nothing that outlives the check.
 */
public final class OutputLocation {
    private OutputLocation() {
    }

    /**
     * @param location the output as given
     * @param setting  how the user named it ({@code "Setting 'output' in FILE"}, {@code "--out"}), for messages
     * @param model    the model location the job reads, or null
     */
    public static void check(String location, String setting, String model) {
        Path out = HadoopFiles.path(location);
        FileSystem fs = HadoopFiles.fileSystem(out, HadoopFiles.defaultConf());
        Path qualified = fs.makeQualified(out);
        if (model != null) {
            Path m = HadoopFiles.path(model);
            Path modelQualified = HadoopFiles.fileSystem(m, HadoopFiles.defaultConf()).makeQualified(m);
            if (modelQualified.equals(qualified)) {
                throw new EvocompressException(setting + " is " + location + ", which is the model's own directory: "
                    + "the output would be written among the model's files. Choose another directory.");
            }
        }
        try {
            Path existing = qualified;
            FileStatus st = status(fs, existing);
            while (st == null && existing.getParent() != null) {
                existing = existing.getParent();
                st = status(fs, existing);
            }
            if (st == null) {
                return; // nothing of the path exists, not even the root: the file system will say
            }
            if (!st.isDirectory()) {
                throw new EvocompressException(setting + " is " + location + ", but " + (existing.equals(qualified)
                    ? "that is a regular file" : existing + " on the way to it is a regular file")
                    + ": an output must be a directory. Choose another location or move the file away.");
            }
            if (existing.equals(qualified) && looksLikeModel(fs, qualified)) {
                throw new EvocompressException(setting + " is " + location + ", which holds a model checkpoint "
                    + "(config.json and safetensors weights): the output would be written among its files. "
                    + "Choose another directory.");
            }
            if (fs instanceof org.apache.hadoop.fs.LocalFileSystem || fs instanceof org.apache.hadoop.fs.RawLocalFileSystem) {
                probe(existing, setting, location);
                return;
            }
            try {
                fs.access(existing, FsAction.WRITE_EXECUTE);
            } catch (org.apache.hadoop.security.AccessControlException | FileNotFoundException e) {
                throw new EvocompressException(setting + " is " + location + ", but " + existing
                    + " is not writable: choose a directory you can write, or fix its permissions.", e);
            }
        } catch (IOException e) {
            throw new EvocompressException("Cannot check the output " + location + " (" + setting + "): " + e.getMessage(), e);
        }
    }

    /**
     * On the local file system the permission bits do not say whether a write succeeds (root writes
     * a mode 555 directory; a read-only mount or an ACL refuses one that looks writable), so the
     * directory is tried: an empty hidden file is created in it and deleted at once.
     */
    private static void probe(Path dir, String setting, String location) {
        java.nio.file.Path local = java.nio.file.Path.of(dir.toUri());
        java.nio.file.Path probe;
        try {
            probe = java.nio.file.Files.createTempFile(local, ".evocompress-write-probe-", ".tmp");
        } catch (IOException | SecurityException e) {
            throw new EvocompressException(setting + " is " + location + ", but " + local + " is not writable (creating a "
                + "file there fails: " + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " " + e.getMessage())
                + "): choose a directory you can write, or fix its permissions.", e);
        }
        try {
            java.nio.file.Files.delete(probe);
        } catch (IOException e) {
            throw new EvocompressException("Cannot delete the write probe " + probe + " (" + setting + "): " + e.getMessage(), e);
        }
    }

    private static FileStatus status(FileSystem fs, Path p) throws IOException {
        try {
            return fs.getFileStatus(p);
        } catch (FileNotFoundException e) {
            return null;
        } catch (org.apache.hadoop.fs.ParentNotDirectoryException e) {
            return null;
        }
    }

    private static boolean looksLikeModel(FileSystem fs, Path dir) throws IOException {
        return fs.exists(new Path(dir, "config.json"))
            && (fs.exists(new Path(dir, "model.safetensors")) || fs.exists(new Path(dir, "model.safetensors.index.json")));
    }
}
