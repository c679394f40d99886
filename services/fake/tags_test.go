package fake_test

import (
	"testing"

	"refit/services/enginetest"
	"refit/services/fake"
)

func TestImageTagsConformance(t *testing.T) {
	enginetest.RunImageTags(t, func(t *testing.T) enginetest.Fixture { return &fixture{e: fake.NewEngine()} })
}
