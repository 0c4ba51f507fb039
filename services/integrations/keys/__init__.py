"""Key-encryption-key versions: census, rewrap, retire."""
