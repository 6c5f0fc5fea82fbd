// Temporary; replaced by the end-to-end suite.
