module github.com/grapevine-p2p/grapevine

go 1.26
