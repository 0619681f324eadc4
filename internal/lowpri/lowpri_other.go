//go:build !linux

package lowpri

func lower() {}

func priority() (int, error) { return Nice, nil }
