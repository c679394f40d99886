package dockerengine_test

import (
	"testing"

	"refit/services/enginetest"
)

func TestImageTagsConformance(t *testing.T) {
	enginetest.RunImageTags(t, func(t *testing.T) enginetest.Fixture { return newFixture(t) })
}
