/* Linked into the sanitizer builds of the programs that start MPI (-DDPTRAIN_SANITIZE=ON): Open
   MPI unloads its components (mca_*.so) in MPI_Finalize, before LeakSanitizer looks, so the
   leaks it makes there show as "<unknown module>" and no suppression can name them. Keeping
   every library loaded lets openmpi.supp name them instead of switching leak detection off. */
int dlclose(void *handle);

int dlclose(void *handle) {
    (void)handle;
    return 0;
}
