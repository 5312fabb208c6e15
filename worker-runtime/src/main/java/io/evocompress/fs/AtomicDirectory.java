package io.evocompress.fs;

import io.evocompress.EvocompressException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.UUID;

/**
 * A directory written under a temporary sibling name and renamed into place by {@link #commit()},
 * so a crash never leaves a half-written directory under the final name. Closing without commit
 * deletes the temporary directory.
 */
public final class AtomicDirectory implements AutoCloseable {
    private final FileSystem fs;
    private final Path target;
    private final Path temporary;
    private boolean committed;

    private AtomicDirectory(FileSystem fs, Path target, Path temporary) {
        this.fs = fs;
        this.target = target;
        this.temporary = temporary;
    }

    /**
     * Starts writing {@code target}. It must not exist yet unless {@code overwrite}, in which case the
     * old directory is replaced only at commit.
     */
    public static AtomicDirectory create(FileSystem fs, Path target, boolean overwrite) {
        try {
            if (fs.exists(target) && !overwrite) {
                throw new EvocompressException("Output " + target + " already exists: choose another output path or remove it first.");
            }
            Path parent = target.getParent();
            if (parent != null) {
                fs.mkdirs(parent);
            }
            if (fs instanceof org.apache.hadoop.fs.LocalFileSystem) {
                fs.setWriteChecksum(false); // no .crc side files in outputs other tools read
            }
            Path tmp = new Path(parent, "." + target.getName() + ".tmp-" + UUID.randomUUID());
            if (!fs.mkdirs(tmp)) {
                throw new EvocompressException("Cannot create temporary output directory " + tmp);
            }
            return new AtomicDirectory(fs, target, tmp);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot prepare output " + target, e);
        }
    }

    /** Where to write the files: the temporary directory. */
    public Path dir() {
        return temporary;
    }

    public Path resolve(String name) {
        return new Path(temporary, name);
    }

    /**
     * Renames the temporary directory to the target. An old target (overwrite) is first moved aside
     * and deleted only once the new one is in place, so a crash never leaves neither.
     */
    public void commit() {
        try {
            Path old = null;
            if (fs.exists(target)) {
                old = new Path(target.getParent(), "." + target.getName() + ".old-" + UUID.randomUUID());
                if (!fs.rename(target, old)) {
                    throw new EvocompressException("Could not move the old " + target + " aside to " + old);
                }
            }
            if (!fs.rename(temporary, target)) {
                throw new EvocompressException("Could not rename " + temporary + " to " + target
                    + (old == null ? "" : "; the previous output is kept at " + old));
            }
            committed = true;
            if (old != null) {
                fs.delete(old, true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot commit output " + target, e);
        }
    }

    @Override
    public void close() {
        if (!committed) {
            try {
                fs.delete(temporary, true);
            } catch (IOException ignored) {
                // best effort: the temporary name never looks like a finished output
            }
        }
    }
}
