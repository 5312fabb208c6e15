package io.evocompress.calibrate;

import io.evocompress.calibration.HessianFile;
import io.evocompress.calibration.InputGroup;
import io.evocompress.calibration.InputStatistics;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;

/** The calibration statistics a database build left under {@code <database>/hessians/}, read on the driver. */
public final class DatabaseHessians {
    private final FileSystem fs;
    private final Path dir;

    public DatabaseHessians(String database) {
        this.dir = new Path(HadoopFiles.path(database), HessianJob.DIR);
        this.fs = HadoopFiles.fileSystem(dir, HadoopFiles.defaultConf());
    }

    /** The Hessian and input norms of one block's input group. */
    public InputStatistics read(int block, InputGroup group) {
        Path file = new Path(dir, HessianJob.fileName(block, group));
        try (FSDataInputStream in = fs.open(file)) {
            return HessianFile.decode(in.readAllBytes(), file.toString()).statistics();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file + " (rerun build-db to rebuild the Hessians)", e);
        }
    }
}
