package io.evocompress.calibrate;

import io.evocompress.calibration.InputGroup;
import io.evocompress.calibration.InputStatistics;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;


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
        return HessianFiles.read(fs, file, null, null).statistics();   // streamed, one row block at a time
    }
}
