module github.com/cairnlog/cairn

go 1.26.8

require (
	github.com/klauspost/compress v1.20.3
	github.com/pierrec/lz4/v4 v4.1.33
	github.com/stretchr/testify v1.12.1
	github.com/twmb/franz-go/pkg/kmsg v1.15.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
