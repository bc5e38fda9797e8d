package ignition_test

// testSSHKey is a syntactically valid ed25519 public key (not anyone's).
const testSSHKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f okvm-test"
